import { describe, expect, it } from 'vitest';
import { contentTokens, lexicalGrounding } from './grounding.ts';

const passages = ['Refunds are paid within 14 days to the original card.', 'Shipping to Canada takes 5 business days.'];

describe('lexical grounding', () => {
  it('scores an answer drawn from the passages near 1 and sees its citation', () => {
    const g = lexicalGrounding('Refunds are paid within 14 days to the original card [1].', passages);
    expect(g.support).toBe(1);
    expect(g.cited).toBe(true);
  });

  it('scores an invented answer near 0, and a citation past the passages does not count', () => {
    const g = lexicalGrounding('Probably whenever the warehouse feels like it, maybe never [7].', passages);
    expect(g.support).toBeLessThan(0.2);
    expect(g.cited).toBe(false);
  });

  it('has no score without passages, and reads Chinese by character pairs', () => {
    expect(lexicalGrounding('Anything at all.', []).support).toBeNull();
    expect(contentTokens('退款十四天')).toEqual(['退款', '款十', '十四', '四天']);
    expect(lexicalGrounding('退款十四天内到账', ['退款在十四天内退回原卡']).support).toBeGreaterThan(0.5);
  });
});
