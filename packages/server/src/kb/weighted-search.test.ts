import MiniSearch from 'minisearch';
import { describe, expect, it } from 'vitest';
import { searchTerms } from './terms.ts';
import { WeightedSearcher } from './weighted-search.ts';

interface Doc {
  id: string;
  title: string;
  heading: string;
  text: string;
}

const BOOST = { text: 1, heading: 2, title: 1.5 };
const docs: Doc[] = [
  { id: 'deploy', title: '私有化部署', heading: '安装', text: '企业可以把即时通讯服务私有化部署在自己的机房，数据不出内网。部署需要两台服务器。' },
  { id: 'price', title: '价格', heading: '私有云', text: '公有云按月收费，私有云按用户数定价，部署费用另算。' },
  { id: 'push', title: '推送', heading: '厂商通道', text: '推送服务支持主流手机厂商通道，离线消息也能送达。' },
  { id: 'faq', title: '常见问题', heading: '账号', text: '忘记密码可以在登录页找回。账号被锁定请联系客服。' },
];

function build(): MiniSearch<Doc> {
  const ms = new MiniSearch<Doc>({ fields: ['text', 'heading', 'title'], tokenize: searchTerms, processTerm: (t) => t, searchOptions: { boost: { heading: 2, title: 1.5 } } });
  ms.addAll(docs);
  return ms;
}

describe('WeightedSearcher', () => {
  it("ranks and scores as MiniSearch's own search does when every term weighs 1", () => {
    const ms = build();
    const searcher = new WeightedSearcher(ms, BOOST);
    const terms = ['私有', '部署', '机房', '推送'].map((term) => ({ term, weight: 1 }));
    const ours = searcher.search(terms, 10, () => true);
    const theirs = ms.search(terms.map((t) => t.term).join(' '), { tokenize: (s) => s.split(' ') });
    expect(ours.map((h) => h.id)).toEqual(theirs.map((r) => r.id));
    ours.forEach((h, i) => expect(h.score).toBeCloseTo(theirs[i]!.score, 9));
  });

  it('counts an added term by its weight, not as one more matched term', () => {
    const ms = build();
    const searcher = new WeightedSearcher(ms, BOOST);
    const terms = [{ term: '部署', weight: 1 }, { term: '费用', weight: 0.3 }];
    const byId = new Map(searcher.search(terms, 10, () => true).map((h) => [h.id, h.score]));
    const theirs = ms.search('部署 费用', { tokenize: (s) => s.split(' '), boostTerm: (_t, i) => terms[i]!.weight });
    for (const r of theirs) {
      const weight = r.queryTerms.reduce((sum, t) => sum + terms.find((x) => x.term === t)!.weight, 0);
      expect(byId.get(r.id)).toBeCloseTo((r.score / r.queryTerms.length) * weight, 9);
    }
  });

  it('gives the exact best passages when common terms only update those rarer terms found (max-score)', () => {
    // 300 passages: every one has common words, a few have rare ones, so the common terms' postings are skipped.
    const common = ['服务', '消息', '企业', '系统'];
    const rare = ['联邦', '溯源', '切片', '幻觉', '压测', '推送', '树莓', '插件'];
    const many: Doc[] = Array.from({ length: 300 }, (_, i) => ({
      id: `d${i}`,
      title: i % 37 === 0 ? rare[i % rare.length]! : common[i % common.length]!,
      heading: common[(i * 7) % common.length]!,
      text: `${common.slice(0, 1 + (i % common.length)).join('，')}。${i % 11 === 0 ? rare[(i * 3) % rare.length] : ''}${'服务'.repeat(i % 5)}`,
    }));
    const ms = new MiniSearch<Doc>({ fields: ['text', 'heading', 'title'], tokenize: searchTerms, processTerm: (t) => t, searchOptions: { boost: { heading: 2, title: 1.5 } } });
    ms.addAll(many);
    const searcher = new WeightedSearcher(ms, BOOST);
    for (const limit of [2, 5]) {
      for (const words of [['联邦', '服务', '消息'], ['溯源', '切片', '企业', '系统', '服务'], ['插件', '消息']]) {
        const terms = words.map((term) => ({ term, weight: 1 }));
        const ours = searcher.search(terms, limit, () => true);
        const theirs = ms.search(words.join(' '), { tokenize: (s) => s.split(' ') }).slice(0, limit);
        expect(ours.map((h) => h.score)).toEqual(theirs.map((r) => expect.closeTo(r.score, 9)));
      }
    }
  });

  it('keeps only in-scope passages, the best first, up to the limit', () => {
    const searcher = new WeightedSearcher(build(), BOOST);
    const hits = searcher.search([{ term: '部署', weight: 1 }, { term: '私有', weight: 1 }], 1, (id) => id !== 'deploy');
    expect(hits.map((h) => h.id)).toEqual(['price']);
  });

  it('skips a term found in more than maxShare of the passages while others are left, never the only one', () => {
    const ms = build();
    const searcher = new WeightedSearcher(ms, BOOST);
    // 部署 is in two of four passages (50%).
    expect(searcher.search([{ term: '部署', weight: 1 }, { term: '通道', weight: 1 }], 10, () => true, { maxShare: 0.3 }).map((h) => h.id)).toEqual(['push']);
    expect(searcher.search([{ term: '部署', weight: 1 }], 10, () => true, { maxShare: 0.3 }).map((h) => h.id).sort()).toEqual(['deploy', 'price']);
  });

  it('forgets a discarded passage and sees one added later', () => {
    const ms = build();
    const searcher = new WeightedSearcher(ms, BOOST);
    expect(searcher.search([{ term: '密码', weight: 1 }], 10, () => true).map((h) => h.id)).toEqual(['faq']);
    ms.discard('faq');
    ms.add({ id: 'faq2', title: '密码', heading: '', text: '重置密码的步骤。' });
    expect(searcher.search([{ term: '密码', weight: 1 }], 10, () => true).map((h) => h.id)).toEqual(['faq2']);
    expect(searcher.documentFrequency('密码')).toBeGreaterThan(0);
  });
});
