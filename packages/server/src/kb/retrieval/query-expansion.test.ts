import { describe, expect, it } from 'vitest';
import { InMemoryKnowledgeIndex } from '../knowledge-index.ts';
import type { Chunk } from '../types.ts';
import { expandQuery, SYNONYM_WEIGHT } from './query-expansion.ts';

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
