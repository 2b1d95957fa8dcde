import { describe, expect, it } from 'vitest';
import { newId, newSecret } from './ids.ts';

describe('ids', () => {
  it('are prefixed, 22 base64url characters of randomness, and never repeat across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) seen.add(newId('msg'));
    expect(seen.size).toBe(1_000);
    for (const id of seen) expect(id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
  });

  it('mints secrets of the requested strength', () => {
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSecret(16)).toHaveLength(22);
  });
});
