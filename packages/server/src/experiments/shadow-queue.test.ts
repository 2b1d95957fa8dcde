import { describe, expect, it } from 'vitest';
import { ShadowQueue } from './shadow-queue.ts';

describe('ShadowQueue', () => {
  it('runs at most `concurrency` jobs, drops past capacity, and never starts a job in the caller\'s turn', async () => {
    const queue = new ShadowQueue({ capacity: 3, concurrency: 1, onError: () => {} });
    let started = 0;
    let most = 0;
    let now = 0;
    const job = () => async () => {
      started++;
      now++;
      most = Math.max(most, now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
    };
    const accepted = [1, 2, 3, 4, 5].map(() => queue.offer(job()));
    expect(started).toBe(0);
    // One job is taken off the queue at once, so three wait and the fifth finds it full.
    expect(accepted).toEqual([true, true, true, true, false]);
    await queue.idle();
    expect(started).toBe(4);
    expect(most).toBe(1);
  });

  it('reports a failing job and goes on', async () => {
    const errors: unknown[] = [];
    const queue = new ShadowQueue({ onError: (e) => errors.push(e) });
    queue.offer(async () => { throw new Error('boom'); });
    let ran = false;
    queue.offer(async () => { ran = true; });
    await queue.idle();
    expect(errors).toHaveLength(1);
    expect(ran).toBe(true);
  });
});
