import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from './fusion.ts';

describe('reciprocalRankFusion', () => {
  it('ranks what both lists found above what one list ranked first', () => {
    const fused = reciprocalRankFusion([['a', 'b', 'c'], ['x', 'b', 'y']], (s) => s);
    expect(fused.map((f) => f.item)).toEqual(['b', 'a', 'x', 'c', 'y']);
    expect(fused[0]!.score).toBeCloseTo(2 / 62);
  });

  it('uses ranks only, so unbounded BM25 scores and cosines mix', () => {
    const bm25 = [{ id: 'p1', s: 900 }, { id: 'p2', s: 3 }];
    const cosine = [{ id: 'p2', s: 0.9 }, { id: 'p1', s: 0.1 }];
    const fused = reciprocalRankFusion([bm25, cosine], (p) => p.id);
    expect(fused[0]!.score).toBe(fused[1]!.score);
  });
});
