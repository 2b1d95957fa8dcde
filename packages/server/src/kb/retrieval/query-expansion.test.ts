import { describe, expect, it } from 'vitest';
import { InMemoryKnowledgeIndex } from '../knowledge-index.ts';
import type { Chunk } from '../types.ts';
import { DEFAULT_EXPANSION, expandQuery, FEEDBACK, SYNONYM_WEIGHT } from './query-expansion.ts';

const chunk = (id: string, title: string, text: string): Chunk => ({
  id: `${id}#0`, app_id: 'app', kb_id: 'kb', document_id: id, ordinal: 0, title, source: `${id}.md`, heading_path: [], text, tokens: 10,
});

describe('expandQuery', () => {
  it("keeps the customer's words at full weight and adds synonyms at a lower one", () => {
    const terms = new Map(expandQuery('聊天软件装在自己公司机房').map((t) => [t.term, t.weight]));
    expect(terms.get('聊天')).toBe(1);
    expect(terms.get('企业')).toBe(SYNONYM_WEIGHT);
    expect(terms.get('即时')).toBe(SYNONYM_WEIGHT);
    expect(terms.get('私有')).toBe(SYNONYM_WEIGHT);
  });

  it('matches a Latin synonym only as a whole word', () => {
    expect(expandQuery('detail of the api').some((t) => t.term === '接口')).toBe(true);
    expect(expandQuery('details').some((t) => t.term === '人工')).toBe(false);
  });
});

describe('expanded search', () => {
  const index = InMemoryKnowledgeIndex.fromChunks([
    chunk('deploy', '私有化部署', '企业可以把即时通讯服务私有化部署在自己的机房，数据不出内网。'),
    chunk('price', '价格', '公有云按月收费，私有云按用户数定价。'),
    chunk('push', '推送', '推送服务支持主流手机厂商通道。'),
  ]);

  it('finds a document written in other words than the question', () => {
    const question = 'IM能装在本地吗';
    expect(index.search('app', question, { kbIds: ['kb'], limit: 3 }).map((p) => p.chunk.document_id)).not.toContain('deploy');
    expect(index.search('app', question, { kbIds: ['kb'], limit: 3, expand: true })[0]!.chunk.document_id).toBe('deploy');
  });

  it("keeps the question's own best match first", () => {
    expect(index.search('app', '推送通道', { kbIds: ['kb'], limit: 3, expand: true })[0]!.chunk.document_id).toBe('push');
  });
});

describe('expansion choices', () => {
  // 企业 is in four passages of six: as an added synonym it says little and costs the most postings.
  const index = InMemoryKnowledgeIndex.fromChunks([
    chunk('a', '企业通讯', '企业内部沟通。'),
    chunk('b', '企业客服', '企业客服回复。'),
    chunk('c', '企业安全', '企业数据加密。'),
    chunk('d', '企业价格', '企业版按年付费。'),
    chunk('e', '商家入驻', '商家入驻流程。'),
    chunk('f', '退款', '退款流程说明。'),
  ]);
  const docs = (query: string, expansion = {}) => index.search('app', query, { kbIds: ['kb'], limit: 6, expand: true, expansion }).map((p) => p.chunk.document_id);

  it('leaves out an added term found in more than maxShare of the passages, keeping the rarer ones', () => {
    expect(DEFAULT_EXPANSION.maxShare).toBe(0.2);
    expect(docs('公司', { feedback: null })).toEqual(['e']);
    expect(docs('公司', { feedback: null, maxShare: undefined }).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('adds pseudo-relevance feedback terms by default, and with feedbackBelow only after a weak first pass', () => {
    expect(DEFAULT_EXPANSION.feedback).toEqual(FEEDBACK);
    // 入驻 finds e; feedback brings e's other words, and 流程 finds f, which the question never named
    // (流程 is in two passages of six, so the cap is lifted here).
    const uncapped = { maxShare: undefined };
    expect(docs('入驻', uncapped)).toEqual(['e', 'f']);
    expect(docs('入驻', { ...uncapped, feedback: null })).toEqual(['e']);
    // e holds every word of the question: a strong first pass, left alone.
    expect(docs('入驻', { ...uncapped, feedbackBelow: 0.95 })).toEqual(['e']);
  });
});
