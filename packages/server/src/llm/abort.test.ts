import { describe, expect, it } from 'vitest';
import { abortError, linkAbort, StopSource } from './abort.ts';
import { LlmError } from './errors.ts';

describe('StopSource', () => {
  it('calls its listeners once, in order, as an AbortSignal would: not a removed one, not one added after', () => {
    const stop = new StopSource();
    const calls: string[] = [];
    const b = () => calls.push('b');
    stop.addEventListener('abort', () => calls.push('a'));
    stop.addEventListener('abort', b);
    stop.addEventListener('abort', () => calls.push('c'));
    stop.removeEventListener('abort', b);
    stop.abort();
    stop.abort();
    stop.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['a', 'c']);
    expect(stop.aborted).toBe(true);
    // No reason given: the AbortError an AbortController would give, which abortError() reads as the caller stopping.
    expect(stop.reason).toBeInstanceOf(DOMException);
    expect(abortError(stop)).toMatchObject({ kind: 'aborted' });
  });

  it('does not call a listener another listener removed during the abort, as an AbortSignal does not', () => {
    const run = (target: { addEventListener(t: 'abort', l: () => void): void; removeEventListener(t: 'abort', l: () => void): void }, abort: () => void) => {
      const calls: string[] = [];
      const c = () => calls.push('c');
      target.addEventListener('abort', () => calls.push('a'));
      target.addEventListener('abort', () => {
        calls.push('b');
        target.removeEventListener('abort', c);
      });
      target.addEventListener('abort', c);
      abort();
      return calls;
    };
    const stop = new StopSource();
    const controller = new AbortController();
    expect(run(stop, () => stop.abort())).toEqual(run(controller.signal, () => controller.abort()));
  });

  it('makes a real AbortSignal only when asked, aborted with it or already aborted, with the same reason', () => {
    const before = new StopSource();
    const signal = before.signal;
    expect(signal.aborted).toBe(false);
    const reason = new LlmError('timeout', 'too slow');
    before.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);

    const after = new StopSource();
    after.abort(reason);
    expect(after.signal.aborted).toBe(true);
    expect(after.controller().signal.reason).toBe(reason);
  });
});

describe('linkAbort', () => {
  it('follows a StopSource or an AbortSignal parent until disposed, and tells onAbort once', () => {
    for (const make of [() => new StopSource(), () => new AbortController()]) {
      const parent = make();
      const link = linkAbort(parent instanceof AbortController ? parent.signal : parent);
      let told = 0;
      link.onAbort = () => told++;
      const followers: unknown[] = [];
      link.addEventListener('abort', () => followers.push(link.reason));
      const reason = new LlmError('aborted', 'caller left');
      parent.abort(reason);
      expect(link.aborted).toBe(true);
      expect(link.reason).toBe(reason);
      expect(followers).toEqual([reason]);
      link.abort(new LlmError('timeout', 'late'));
      expect(told).toBe(1);

      const parent2 = make();
      const disposed = linkAbort(parent2 instanceof AbortController ? parent2.signal : parent2);
      disposed.dispose();
      parent2.abort(reason);
      expect(disposed.aborted).toBe(false);
    }
  });

  it('starts aborted under an aborted parent, and its own abort leaves the parent alone', () => {
    const gone = new StopSource();
    gone.abort();
    expect(linkAbort(gone).aborted).toBe(true);
    expect(linkAbort(gone).signal.aborted).toBe(true);

    const parent = new StopSource();
    const link = linkAbort(parent);
    link.abort(new LlmError('timeout', 'attempt timed out'));
    expect(link.signal.reason).toMatchObject({ kind: 'timeout' });
    expect(parent.aborted).toBe(false);
  });
});
