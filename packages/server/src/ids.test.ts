import { describe, expect, it } from 'vitest';
import { newId, newOrderedId, newSecret } from './ids.ts';

describe('ids', () => {
  it('are prefixed, 22 base64url characters of randomness, and never repeat across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) seen.add(newId('cnv'));
    expect(seen.size).toBe(1_000);
    for (const id of seen) expect(id).toMatch(/^cnv_[A-Za-z0-9_-]{22}$/);
  });

  it('ordered ids sort by creation time, byte for byte, and keep 22 characters of randomness', () => {
    const times = [0, 1, 35, 36, 1_700_000_000_000, 1_795_000_000_000, 4_000_000_000_000];
    const ids = times.map((t) => newOrderedId('msg', t));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^msg_[0-9a-z]{9}[A-Za-z0-9_-]{22}$/);
    const same = new Set(Array.from({ length: 1_000 }, () => newOrderedId('led', 1_795_000_000_000)));
    expect(same.size).toBe(1_000);
  });

  it('mints secrets of the requested strength', () => {
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSecret(16)).toHaveLength(22);
  });
});
