import { describe, expect, it } from 'vitest';
import { stem } from './stem.ts';
import { queryTerms, searchTerms } from './terms.ts';

describe('searchTerms', () => {
  it('gives Chinese text character bigrams, so differently segmented words still meet', () => {
    // ICU splits 退货 into 退|货 here; the bigram still carries it.
    expect(searchTerms('我们的退款政策是七天无理由退货')).toEqual(
      expect.arrayContaining(['退款', '政策', '七天', '理由', '退货']),
    );
  });

  it('drops Chinese question filler so it neither matches nor joins bigrams', () => {
    expect(searchTerms('退款政策是什么？')).toEqual(['退款', '款政', '政策']);
  });

  it('keeps dictionary words of three or more characters alongside the bigrams', () => {
    expect(searchTerms('人工智能')).toEqual(expect.arrayContaining(['人工', '工智', '智能']));
    expect(searchTerms('一个字')).toEqual(['字']);
  });

  it('lowercases, strips punctuation and stopwords, and stems English', () => {
    expect(searchTerms("What's the user's refund policy? Installing: installed, configures!")).toEqual([
      'user',
      'refund',
      'policy',
      'install',
      'install',
      'configur',
    ]);
  });

  it('handles mixed Chinese and English, and full-width characters', () => {
    expect(searchTerms('如何用 ＡＰＩ key 配置 GPT-4o-mini 的知识库')).toEqual(
      expect.arrayContaining(['api', 'key', '配置', 'gpt', '4o', 'mini', '知识', '识库']),
    );
  });

  it('gives each query term once', () => {
    expect(queryTerms('refund refunds REFUND 退款 退款')).toEqual(['refund', '退款']);
  });
});

describe('stem', () => {
  it.each([
    ['installs', 'install'],
    ['installed', 'install'],
    ['installing', 'install'],
    ['configure', 'configur'],
    ['configured', 'configur'],
    ['policies', 'policy'],
    ['shipped', 'ship'],
    ['shipping', 'ship'],
    ['passes', 'pass'],
    ['matches', 'match'],
    ['string', 'string'],
    ['need', 'need'],
    ['status', 'status'],
    ['v1.2', 'v1.2'],
  ])('%s → %s', (word, stemmed) => {
    expect(stem(word)).toBe(stemmed);
  });
});
