import { describe, expect, it } from 'vitest';
import { KeyedSerial } from './serial.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedSerial', () => {
  it('finishes tasks of one key in the order they were started, even if later ones are faster', async () => {
    const serial = new KeyedSerial();
    const done: number[] = [];
    await Promise.all([30, 1, 10].map((ms, i) => serial.run('a', async () => { await sleep(ms); done.push(i); })));
    expect(done).toEqual([0, 1, 2]);
    expect(serial.size).toBe(0);
  });

  it('keeps going after a task fails and runs other keys in parallel', async () => {
    const serial = new KeyedSerial();
    const failing = serial.run('a', async () => { throw new Error('boom'); });
    const after = serial.run('a', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(after).resolves.toBe('ok');
    const events: string[] = [];
    await Promise.all([
      serial.run('x', async () => { events.push('x start'); await sleep(20); events.push('x end'); }),
      serial.run('y', async () => { events.push('y start'); await sleep(20); events.push('y end'); }),
    ]);
    expect(events.indexOf('y start')).toBeLessThan(events.indexOf('x end'));
  });
});
