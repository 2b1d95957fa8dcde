import { describe, expect, it } from 'vitest';
import { promptReservation } from './service.ts';

describe('promptReservation', () => {
  it('reserves the quick estimate while it is a small share of the TPM, and counts exactly otherwise', () => {
    let counted = 0;
    const exact = () => {
      counted++;
      return 40;
    };
    expect(promptReservation(10_000, exact, () => 60)).toBe(60);
    expect(counted).toBe(0);
    // 60 tokens against a 500 TPM key is more than a tenth: the exact count decides.
    expect(promptReservation(500, exact, () => 60)).toBe(40);
    expect(counted).toBe(1);
    // Without an estimate (embeddings), always exact.
    expect(promptReservation(10_000, exact)).toBe(40);
    expect(counted).toBe(2);
  });
});
