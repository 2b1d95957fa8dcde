import { describe, expect, it } from 'vitest';
import { VisitorKeys } from './visitor-key.ts';

describe('visitor keys', () => {
  const keys = new VisitorKeys('master-key-0123456789abcdef');

  it('name their visitor for the app they were made for, and for no other app or master key', () => {
    const id = keys.newVisitorId();
    expect(id).toMatch(/^wv_[A-Za-z0-9_-]{16}$/);
    const key = keys.keyFor('shop', id);
    expect(keys.userOf('shop', key)).toBe(id);
    expect(keys.userOf('other-shop', key)).toBeUndefined();
    expect(new VisitorKeys('another-master-key-0123456789').userOf('shop', key)).toBeUndefined();
  });

  it('refuse a key with its id or its MAC changed', () => {
    const id = keys.newVisitorId();
    const key = keys.keyFor('shop', id);
    const other = keys.newVisitorId();
    expect(keys.userOf('shop', key.replace(id, other))).toBeUndefined();
    expect(keys.userOf('shop', key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(keys.userOf('shop', `${key}x`)).toBeUndefined();
    expect(keys.userOf('shop', '')).toBeUndefined();
  });
});
