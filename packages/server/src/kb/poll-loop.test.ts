import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollLoop } from './poll-loop.ts';

const POLL_MS = 60_000;

/** A run that waits until the test lets it finish, counting calls. */
function gatedRun() {
  const calls: boolean[] = [];
  let release: (() => void) | undefined;
  const run = vi.fn((force: boolean) => {
    calls.push(force);
    return new Promise<void>((resolve) => { release = resolve; });
  });
  return { run, calls, finish: () => { release?.(); release = undefined; } };
}

describe('PollLoop', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('runs at start, then on its poll interval, and at once after a kick', async () => {
    const run = vi.fn(async (_force: boolean) => {});
    const loop = new PollLoop(run, POLL_MS);
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenLastCalledWith(false);

    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(run).toHaveBeenCalledTimes(1);
    loop.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(2);

    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(run).toHaveBeenCalledTimes(3);
    await loop.stop();
  });

  it('runs exactly once more after kicks that came during a run, never two runs at once', async () => {
    const { run, finish } = gatedRun();
    const loop = new PollLoop(run, POLL_MS);
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);

    loop.kick();
    loop.kick();
    loop.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);

    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(2);
    finish();
    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(3);
    finish();
    await loop.stop();
  });

  it('stop waits for the run in hand and no run follows, kicked or polled', async () => {
    const { run, finish } = gatedRun();
    const loop = new PollLoop(run, POLL_MS);
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    loop.kick();

    let stopped = false;
    const stopping = loop.stop().then(() => { stopped = true; });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    expect(loop.stopped).toBe(true);

    finish();
    await stopping;
    expect(stopped).toBe(true);
    loop.kick();
    await vi.advanceTimersByTimeAsync(10 * POLL_MS);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('drain waits for the run in hand, then takes the queue to the end even when stopped', async () => {
    const queue = [1, 2, 3, 4, 5];
    const done: number[] = [];
    let gate: Promise<void> | undefined;
    let open: (() => void) | undefined;
    const loop = new PollLoop(async (force) => {
      for (;;) {
        const item = queue.shift();
        if (item === undefined) return;
        if (gate) await gate;
        done.push(item);
        // Like the real runs: a stopped loop stops between items, unless draining.
        if (loop.stopped && !force) return;
      }
    }, POLL_MS);

    gate = new Promise((resolve) => { open = resolve; });
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([]);

    let drained = false;
    const draining = loop.drain().then(() => { drained = true; });
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);

    const stopping = loop.stop();
    gate = undefined;
    open?.();
    await stopping;
    // The polled run stopped after its item; drain took the rest.
    await draining;
    expect(done).toEqual([1, 2, 3, 4, 5]);
    expect(queue).toEqual([]);
  });
});
