import { describe, expect, it } from 'vitest';
import { backoffDelay, planReconnect } from './backoff.ts';

const opts = { minDelayMs: 100, maxDelayMs: 2_000 };

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, with half the delay jittered', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, opts, () => 0))).toEqual([50, 100, 200, 400, 1_000]);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800, 2_000]);
  });
});

describe('planReconnect', () => {
  const drop = (code: number, extra = {}) => ({ code, beforeReady: false, ...extra });

  it('comes back soon after a restart, honouring the bye', () => {
    expect(planReconnect(drop(1012, { retryAfterMs: 300 }), 5, opts, () => 0.5)).toEqual({ reason: 'restart', delayMs: 350, countsAsFailure: false });
  });

  it('resumes right away after a slow-consumer close', () => {
    expect(planReconnect(drop(4008), 5, opts, () => 0.5)).toEqual({ reason: 'slow_consumer', delayMs: 50, countsAsFailure: false });
  });

  it('asks for a token on 4001 or a 401 handshake', () => {
    expect(planReconnect(drop(4001), 0, opts).reason).toBe('unauthorized');
    expect(planReconnect({ code: 1006, beforeReady: true, unauthorized: true }, 0, opts).reason).toBe('unauthorized');
  });

  it('backs off much longer after a policy close', () => {
    const policy = planReconnect(drop(4009), 0, opts, () => 0);
    const ordinary = planReconnect(drop(1006), 0, opts, () => 0);
    expect(policy.delayMs).toBe(800);
    expect(ordinary.delayMs).toBe(50);
  });

  it('names ordinary drops by when they happened', () => {
    expect(planReconnect({ code: 1006, beforeReady: true }, 0, opts).reason).toBe('connect_failed');
    expect(planReconnect(drop(1006), 0, opts).reason).toBe('connection_lost');
    expect(planReconnect(drop(1006, { cause: 'heartbeat_timeout' }), 0, opts)).toMatchObject({ reason: 'heartbeat_timeout', countsAsFailure: true });
  });
});
