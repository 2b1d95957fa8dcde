import { describe, expect, it } from 'vitest';
import { ARTICLE_WEIGHT, withArticleScores } from './article-view.ts';

const passage = (id: string, doc: string, score: number) => ({ id, chunk: { app_id: 'app1', document_id: doc }, score });
const key = (p: { chunk: { app_id: string; document_id: string } }) => `${p.chunk.app_id}/${p.chunk.document_id}`;

describe('withArticleScores', () => {
  it('lifts a passage whose article as a whole matches the question better, at the shipped weight', () => {
    // The refund passage matches one word strongly; the invoice article holds all the question's words across its passages.
    const passages = [passage('r1', 'refund', 10), passage('i1', 'invoice', 9), passage('i2', 'invoice', 4)];
    const articles = new Map([['app1/invoice', 30], ['app1/refund', 8]]);
    const blended = withArticleScores(passages, articles, ARTICLE_WEIGHT, key);
    expect(blended.map((p) => p.id)).toEqual(['i1', 'r1', 'i2']);
    expect(blended[0]!.score).toBeCloseTo(0.8 * 0.9 + 0.2, 10);
  });

  it('keeps the order of passages within an article and adds nothing for an article the view did not find', () => {
    const passages = [passage('a1', 'a', 5), passage('b1', 'b', 4), passage('a2', 'a', 3)];
    const blended = withArticleScores(passages, new Map([['app1/a', 1]]), 0.5, key);
    expect(blended.map((p) => p.id)).toEqual(['a1', 'a2', 'b1']);
    expect(blended.find((p) => p.id === 'b1')!.score).toBeCloseTo(0.5 * 0.8, 10);
  });

  it('leaves the passages as they are when the weight is 0 or no article matched', () => {
    const passages = [passage('a1', 'a', 5), passage('b1', 'b', 4)];
    expect(withArticleScores(passages, new Map([['app1/b', 9]]), 0, key)).toEqual(passages);
    expect(withArticleScores(passages, new Map(), ARTICLE_WEIGHT, key)).toEqual(passages);
    expect(withArticleScores([], new Map([['app1/b', 9]]), ARTICLE_WEIGHT, key)).toEqual([]);
  });
});
