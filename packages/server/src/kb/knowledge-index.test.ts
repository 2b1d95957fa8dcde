import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunk.ts';
import { InMemoryKnowledgeIndex } from './knowledge-index.ts';
import type { Chunk, KbDocument } from './types.ts';

const doc = (id: string, title: string, text: string, kb = 'kb-help', app = 'app1'): KbDocument => ({
  id,
  app_id: app,
  kb_id: kb,
  title,
  source: `${id}.md`,
  text,
});

const zhDocs = [
  doc(
    'refund',
    '退款政策',
    `# 退款政策

## 退款条件
自签收之日起七天内，商品未使用且包装完好，可以申请无理由退货。定制商品不支持退货。

## 退款到账时间
退款审核通过后，款项会在三到五个工作日内原路退回到你的支付账户。`,
  ),
  doc(
    'shipping',
    '配送说明',
    `# 配送说明

## 配送时间
订单在付款后二十四小时内发货。普通快递一般三到五天送达，偏远地区可能需要七天。

## 运费
订单满九十九元包邮，不满则收取十元运费。`,
  ),
  doc(
    'security',
    '账户安全',
    `# 账户安全

## 修改密码
在“设置 › 安全”中可以修改登录密码。新密码至少八位，需同时包含字母和数字。

## 两步验证
开启两步验证后，在新设备登录时需要输入手机收到的验证码，这样即使密码泄露，账户也能保持安全。`,
  ),
];

const enDocs = [
  doc(
    'quick-start',
    'Quick start',
    `# Quick start

## Install
Install the server with npm: run \`npm install warbler\` and then \`npx warbler serve\`. Node 20 or newer is required.

## Configure providers
Set OPENAI_API_KEY to let agents use gpt-4o-mini. Without a key, the built-in kb-answer model quotes the knowledge base.`,
  ),
  doc(
    'billing',
    'Billing',
    `# Billing

## Budgets
Each agent has a monthly budget. When the budget is spent, the agent stops before it calls a model and says so in the chat.

## Prices
Prices are per one million tokens, with a currency. Cached input tokens are billed at their own rate.`,
  ),
  doc(
    'realtime',
    'Realtime',
    `# Realtime

## Reconnecting
A client that loses its connection resumes from the last seq it has seen, and the server sends only the messages it missed.`,
  ),
];

function indexOf(docs: KbDocument[]): InMemoryKnowledgeIndex {
  const index = new InMemoryKnowledgeIndex();
  for (const d of docs) index.putDocument(d.app_id, d.id, chunkDocument(d));
  return index;
}

const top = (index: InMemoryKnowledgeIndex, query: string, kbIds = ['kb-help'], app = 'app1') =>
  index.search(app, query, { kbIds })[0]?.chunk;

describe('InMemoryKnowledgeIndex', () => {
  const index = indexOf([...zhDocs, ...enDocs]);

  it.each([
    ['退款多久能到账？', 'refund', '退款到账时间'],
    ['什么情况下可以退货', 'refund', '退款条件'],
    ['快递几天能送到', 'shipping', '配送时间'],
    ['运费怎么算', 'shipping', '运费'],
    ['怎么修改密码', 'security', '修改密码'],
    ['如何开启两步验证？', 'security', '两步验证'],
  ])('finds the right Chinese passage for %s', (query, documentId, heading) => {
    const hit = top(index, query);
    expect(hit?.document_id).toBe(documentId);
    expect(hit?.heading_path.at(-1)).toBe(heading);
  });

  it.each([
    ['How do I install the server?', 'quick-start', 'Install'],
    ['what happens when an agent budget is spent', 'billing', 'Budgets'],
    ['price of cached tokens', 'billing', 'Prices'],
    ['client reconnects after losing the connection', 'realtime', 'Reconnecting'],
  ])('finds the right English passage for %s', (query, documentId, heading) => {
    const hit = top(index, query);
    expect(hit?.document_id).toBe(documentId);
    expect(hit?.heading_path.at(-1)).toBe(heading);
  });

  it('matches English words inside mixed Chinese and English text, and the other way round', () => {
    const mixed = indexOf([
      doc('mix-a', '接入指南', '# 接入指南\n\n## 配置模型\n设置 OPENAI_API_KEY 之后，agent 会使用 gpt-4o-mini 回答问题。'),
      doc('mix-b', '接入指南', '# 接入指南\n\n## 消息推送\n客户端通过 WebSocket 接收实时消息推送。'),
      ...enDocs,
    ]);
    expect(top(mixed, '怎么配置 gpt-4o-mini')?.document_id).toBe('mix-a');
    expect(top(mixed, 'WebSocket 推送')?.document_id).toBe('mix-b');
    expect(top(mixed, 'how do I set the OPENAI_API_KEY')?.heading_path.at(-1)).toMatch(/配置模型|Configure providers/);
  });

  it('returns the passage with its citation fields and a score, best first, up to the limit', () => {
    const hits = index.search('app1', '退款', { kbIds: ['kb-help'], limit: 2 });
    expect(hits).toHaveLength(2);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
    expect(hits[0]!.chunk).toMatchObject({ title: '退款政策', source: 'refund.md', kb_id: 'kb-help' });
  });

  it('finds nothing for a question the documents do not touch', () => {
    expect(index.search('app1', '今天天气怎么样', { kbIds: ['kb-help'] })).toEqual([]);
    expect(index.search('app1', 'What is the weather like?', { kbIds: ['kb-help'] })).toEqual([]);
    expect(index.search('app1', '是什么？', { kbIds: ['kb-help'] })).toEqual([]);
    expect(index.search('app1', '', { kbIds: ['kb-help'] })).toEqual([]);
    expect(index.search('app1', '?!', { kbIds: ['kb-help'] })).toEqual([]);
  });

  it('searches only the knowledge bases asked for, of the app asked for', () => {
    const scoped = indexOf([
      doc('a', 'Refunds', '# Refunds\n\nRefunds take five days.', 'kb-a'),
      doc('b', 'Refunds', '# Refunds\n\nRefunds take ten days.', 'kb-b'),
      doc('c', 'Refunds', '# Refunds\n\nRefunds take one day.', 'kb-a', 'app2'),
    ]);
    expect(scoped.search('app1', 'refund', { kbIds: ['kb-a'] }).map((p) => p.chunk.document_id)).toEqual(['a']);
    expect(scoped.search('app1', 'refund', { kbIds: ['kb-a', 'kb-b'] }).map((p) => p.chunk.document_id).sort()).toEqual([
      'a',
      'b',
    ]);
    expect(scoped.search('app2', 'refund', { kbIds: ['kb-a'] }).map((p) => p.chunk.document_id)).toEqual(['c']);
    expect(scoped.search('app1', 'refund', { kbIds: [] })).toEqual([]);
  });

  it('replaces a document on put and forgets it on remove', () => {
    const live = indexOf([doc('d', 'Doc', '# Doc\n\nThe old text mentions bananas.')]);
    live.putDocument('app1', 'd', chunkDocument(doc('d', 'Doc', '# Doc\n\nThe new text mentions cherries.')));
    expect(top(live, 'bananas')).toBeUndefined();
    expect(top(live, 'cherries')?.text).toContain('cherries');
    live.removeDocument('app1', 'd');
    expect(top(live, 'cherries')).toBeUndefined();
    expect(live.size).toBe(0);
  });

  it('forgets a whole knowledge base', () => {
    const live = indexOf([doc('a', 'A', 'apples', 'kb-a'), doc('b', 'B', 'apples', 'kb-b')]);
    live.removeKnowledgeBase('app1', 'kb-a');
    expect(live.search('app1', 'apples', { kbIds: ['kb-a', 'kb-b'] }).map((p) => p.chunk.kb_id)).toEqual(['kb-b']);
  });

  it('refuses chunks that belong to another document', () => {
    const chunks = chunkDocument(doc('x', 'X', 'text'));
    expect(() => new InMemoryKnowledgeIndex().putDocument('app1', 'y', chunks)).toThrow(/another document/);
  });

  it('ranks first, in an expanded search, the document that holds the question\'s words across its passages (the article view)', () => {
    const filler = '这一部分介绍相关的背景和注意事项，内容较长。'.repeat(12);
    const spread = indexOf([
      doc('one-word', '常见问题', `# 常见问题\n\n## 下载\n发票可以在订单页面下载，发票抬头也能改。`),
      doc('all-words', '操作指南', `# 操作指南\n\n## 第一步\n${filler}电子发票随订单寄出。\n\n## 第二步\n${filler}报销单在应用里填写。\n\n## 第三步\n${filler}主管审批后财务打款。`),
    ]);
    const ask = (articleWeight?: number) =>
      spread.search('app1', '发票报销要谁审批', { kbIds: ['kb-help'], expand: true, ...(articleWeight === undefined ? {} : { expansion: { articleWeight } }) })[0]?.chunk.document_id;
    expect(ask()).toBe('all-words');
    expect(ask(0)).toBe('one-word');
  });

  it('lets the article view lift only documents of the knowledge bases and app asked for', () => {
    const scoped = indexOf([
      doc('a', 'Refunds', '# Refunds\n\nRefunds take five days.', 'kb-a'),
      doc('b', 'Refunds', '# Refunds\n\nRefunds take ten days.', 'kb-b'),
      doc('c', 'Refunds', '# Refunds\n\nRefunds take one day.', 'kb-a', 'app2'),
    ]);
    expect(scoped.search('app1', 'refund days', { kbIds: ['kb-a'], expand: true }).map((p) => p.chunk.document_id)).toEqual(['a']);
    expect(scoped.search('app2', 'refund days', { kbIds: ['kb-a'], expand: true }).map((p) => p.chunk.document_id)).toEqual(['c']);
    scoped.removeDocument('app1', 'a');
    expect(scoped.search('app1', 'refund days', { kbIds: ['kb-a'], expand: true })).toEqual([]);
  });

  it('rebuilds from stored chunks with the same results', () => {
    const stored: Chunk[] = [...zhDocs, ...enDocs].flatMap((d) => chunkDocument(d));
    const rebuilt = InMemoryKnowledgeIndex.fromChunks(stored);
    expect(rebuilt.size).toBe(stored.length);
    for (const query of ['退款多久能到账？', 'How do I install the server?']) {
      expect(rebuilt.search('app1', query, { kbIds: ['kb-help'] })).toEqual(
        index.search('app1', query, { kbIds: ['kb-help'] }),
      );
    }
  });
});
