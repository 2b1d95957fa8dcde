import { describe, expect, it } from 'vitest';
import { Emitter } from './emitter.ts';

describe('Emitter', () => {
  it('delivers to each handler until it unsubscribes', () => {
    const e = new Emitter<{ n: number }>(() => {});
    const got: number[] = [];
    const off = e.on('n', (v) => got.push(v));
    e.emit('n', 1);
    off();
    e.emit('n', 2);
    expect(got).toEqual([1]);
  });

  it('keeps delivering when one handler throws, and reports it', () => {
    const failures: unknown[] = [];
    const e = new Emitter<{ n: number }>((error) => failures.push(error));
    const got: number[] = [];
    e.on('n', () => {
      throw new Error('boom');
    });
    e.on('n', (v) => got.push(v));
    e.emit('n', 7);
    expect(got).toEqual([7]);
    expect(failures).toHaveLength(1);
  });

  it('lets a handler unsubscribe itself mid-emit without skipping others', () => {
    const e = new Emitter<{ n: number }>(() => {});
    const got: string[] = [];
    const off = e.on('n', () => {
      got.push('a');
      off();
    });
    e.on('n', () => got.push('b'));
    e.emit('n', 1);
    e.emit('n', 1);
    expect(got).toEqual(['a', 'b', 'b']);
  });
});
