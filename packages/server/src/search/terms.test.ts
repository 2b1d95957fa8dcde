import { describe, expect, it } from 'vitest';
import { documentTerms, matchRanges, queryTerms, snippetOf } from './terms.ts';

describe('search terms', () => {
  it('folds case and full width, keeps words whole, and cuts CJK into characters and pairs', () => {
    expect(documentTerms('Hello ＷＯＲＬＤ, 会议室!')).toEqual(['w:hello', 'w:world', 'c:会', 'c:会议', 'c:议', 'c:议室', 'c:室']);
    expect(queryTerms('会议室').terms).toEqual(['c:会议', 'c:议室']);
    expect(queryTerms('会').terms).toEqual(['c:会']);
    expect(queryTerms(' ?! ').terms).toEqual([]);
  });

  it('cuts ASCII text the same way as any other text, so old rows and new queries still meet', () => {
    // The ASCII fast paths must agree with the Unicode path they skip: a query goes through normalize() either way.
    const text = 'Order #A-1042 SHIPPED to Zoë: [[t:1733.5]] it_is “done”, ok? café';
    expect(documentTerms(text)).toEqual(['w:order', 'w:a', 'w:1042', 'w:shipped', 'w:to', 'w:zoë', 'w:t', 'w:1733', 'w:5', 'w:it', 'w:is', 'w:done', 'w:ok', 'w:café']);
    expect(documentTerms('ABC def_GHI 42')).toEqual(queryTerms('abc DEF ghi 42').terms);
  });

  it('matches the query as typed in the original text, not pairs apart or words inside words', () => {
    const q = (text: string) => queryTerms(text).pieces;
    expect(matchRanges('在会议室开会', q('会议室'))).toEqual([[1, 4]]);
    expect(matchRanges('会议和议室', q('会议室'))).toBeUndefined();
    expect(matchRanges('meeting at noon', q('meet'))).toBeUndefined();
    expect(matchRanges('Meet at ＮＯＯＮ', q('noon'))).toEqual([[8, 12]]);
  });

  it('cuts a snippet around the first match with offsets into the snippet, never splitting an emoji', () => {
    const text = `${'😀'.repeat(30)} the key word ${'x '.repeat(80)}`;
    const ranges = matchRanges(text, queryTerms('key').pieces)!;
    const snippet = snippetOf(text, ranges);
    expect(snippet.text.startsWith('…')).toBe(true);
    expect(snippet.text.slice(...snippet.highlights[0]!)).toBe('key');
    expect(snippet.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
