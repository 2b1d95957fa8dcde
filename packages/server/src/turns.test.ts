import { describe, expect, it } from 'vitest';
import { Turns } from './turns.ts';

describe('Turns', () => {
  it('lets a key run up to its cap; one more waits for a turn and gets the slot the first call gives back', async () => {
    const c = new Turns(2, 60_000);
    expect(await c.enter('k1')).toBe(true);
    expect(await c.enter('k1')).toBe(true);
    const third = c.enter('k1');
    // Another holder is not affected by the first one's calls.
    expect(await c.enter('k2')).toBe(true);
    c.leave('k1');
    expect(await third).toBe(true);
    expect(c.of('k1')).toBe(2);
    c.leave('k1');
    c.leave('k1');
    expect(c.of('k1')).toBe(0);
  });

  it('refuses a call that waited its time out, or whose client went away', async () => {
    const c = new Turns(1, 20);
    expect(await c.enter('k1')).toBe(true);
    expect(await c.enter('k1')).toBe(false);
    const gone = new AbortController();
    const waiting = c.enter('k1', gone.signal);
    gone.abort();
    expect(await waiting).toBe(false);
    // Neither left anything behind: the next slot given back is free again.
    c.leave('k1');
    expect(c.of('k1')).toBe(0);
    expect(await c.enter('k1')).toBe(true);
  });

  it('refuses at once when as many calls wait as four times the cap', async () => {
    const c = new Turns(1, 60_000);
    await c.enter('k1');
    const waiting = Array.from({ length: 4 }, () => c.enter('k1'));
    expect(await c.enter('k1')).toBe(false);
    for (let i = 0; i < 5; i++) c.leave('k1');
    expect(await Promise.all(waiting)).toEqual([true, true, true, true]);
    expect(c.of('k1')).toBe(0);
  });
});
