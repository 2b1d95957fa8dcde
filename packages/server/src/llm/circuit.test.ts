import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit.ts';

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures; a success in between resets the count', () => {
    const c = clock();
    const cb = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: c.now });
    cb.failure(cb.begin());
    cb.failure(cb.begin());
    cb.success(cb.begin());
    cb.failure(cb.begin());
    cb.failure(cb.begin());
    expect(cb.state).toBe('closed');
    cb.failure(cb.begin());
    expect(cb.state).toBe('open');
    expect(cb.canAttempt()).toBe(false);
    expect(cb.retryInMs).toBe(1000);
  });

  it('lets exactly one probe through after the cool-down, and closes when it succeeds', () => {
    const c = clock();
    const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: c.now });
    cb.failure(cb.begin());
    c.advance(1000);
    expect(cb.state).toBe('half_open');
    expect(cb.canAttempt()).toBe(true);
    const probe = cb.begin();
    expect(probe.probe).toBe(true);
    expect(cb.canAttempt()).toBe(false);
    cb.success(probe);
    expect(cb.state).toBe('closed');
    expect(cb.canAttempt()).toBe(true);
  });

  it('re-opens for another cool-down when the probe fails', () => {
    const c = clock();
    const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: c.now });
    cb.failure(cb.begin());
    c.advance(1000);
    cb.failure(cb.begin());
    expect(cb.state).toBe('open');
    c.advance(999);
    expect(cb.canAttempt()).toBe(false);
    c.advance(1);
    expect(cb.canAttempt()).toBe(true);
  });

  it('frees the probe slot when the probe ends without a verdict', () => {
    const c = clock();
    const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10, now: c.now });
    cb.failure(cb.begin());
    c.advance(10);
    cb.release(cb.begin());
    expect(cb.canAttempt()).toBe(true);
  });

  it('ignores late verdicts of calls that started before it opened', () => {
    const c = clock();
    const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: c.now });
    const early = cb.begin();
    cb.failure(cb.begin());
    cb.success(early);
    expect(cb.state).toBe('open');
  });

  describe('last-resort calls (every other way to the model is shut)', () => {
    it('go through an open circuit, any number at once, without taking the probe slot', () => {
      const c = clock();
      const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: c.now });
      cb.failure(cb.begin());
      expect(cb.canAttempt()).toBe(false);
      const a = cb.beginAnyway();
      const b = cb.beginAnyway();
      expect(a).toEqual({ probe: false, lastResort: true });
      cb.release(a);
      cb.release(b);
      c.advance(1000);
      // The regular probe is still there after the cool-down.
      expect(cb.canAttempt()).toBe(true);
    });

    it('close the circuit when one is answered', () => {
      const c = clock();
      const cb = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: c.now });
      cb.failure(cb.begin());
      cb.failure(cb.begin());
      expect(cb.state).toBe('open');
      cb.success(cb.beginAnyway());
      expect(cb.state).toBe('closed');
      // And the failure count starts again from zero.
      cb.failure(cb.begin());
      expect(cb.state).toBe('closed');
    });

    it('start the cool-down again when one fails', () => {
      const c = clock();
      const cb = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: c.now });
      cb.failure(cb.begin());
      c.advance(600);
      cb.failure(cb.beginAnyway());
      expect(cb.retryInMs).toBe(1000);
    });

    it('are plain calls when the circuit closed meanwhile: a failure counts towards the threshold', () => {
      const c = clock();
      const cb = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: c.now });
      const t = cb.beginAnyway();
      expect(t).toEqual({ probe: false });
      cb.failure(t);
      expect(cb.state).toBe('closed');
      cb.failure(cb.beginAnyway());
      expect(cb.state).toBe('open');
    });
  });

  describe('shared between nodes', () => {
    it('tells when its own verdicts open and close it, and takes other nodes\' verdicts without telling them back', () => {
      const c = clock();
      const changes: unknown[] = [];
      const cb = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: c.now, onChange: (change) => changes.push(change) });
      cb.failure(cb.begin());
      cb.failure(cb.begin());
      expect(changes).toEqual([{ state: 'open', openedAt: 1_000 }]);
      c.advance(1000);
      cb.success(cb.begin());
      expect(changes).toEqual([{ state: 'open', openedAt: 1_000 }, { state: 'closed' }]);

      const other = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: c.now, onChange: (change) => changes.push(change) });
      other.apply({ state: 'open', openedAt: 1_500 });
      expect(other.state).toBe('open');
      expect(other.retryInMs).toBe(500);
      other.apply({ state: 'open', openedAt: 1_200 });
      expect(other.retryInMs).toBe(500);
      other.apply({ state: 'closed' });
      expect(other.state).toBe('closed');
      expect(changes).toHaveLength(2);
    });
  });
});
