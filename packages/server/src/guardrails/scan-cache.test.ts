import { describe, expect, it } from 'vitest';
import { ScanCache } from './scan-cache.ts';

describe('ScanCache', () => {
  it('keeps results by the exact text and drops the least recently used past its bounds', () => {
    const c = new ScanCache<number>(2, 100);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    c.set('c', 3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('A')]).toEqual([1, 3, undefined]);
  });

  it('bounds the characters kept: a long text pushes out older ones, one longer than the bound is not kept', () => {
    const c = new ScanCache<number>(10, 10);
    c.set('12345', 1);
    c.set('678', 2);
    c.set('abcd', 3);
    expect([c.get('12345'), c.get('678'), c.get('abcd')]).toEqual([undefined, 2, 3]);
    c.set('x'.repeat(11), 4);
    expect(c.get('x'.repeat(11))).toBeUndefined();
    expect(c.size).toBe(2);
  });
});
