import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

const DOCS = [
  { title: '退货政策', text: '# 退货政策\n\n收到商品七天内可以申请退货，商品需保持完好，运费由买家承担。退款在仓库验收后三个工作日内原路退回。' },
  { title: '发票', text: '# 发票\n\n下单时可以选择开具电子发票，发票抬头可以是个人或公司，开票后发送到您的邮箱。' },
  { title: 'Shipping', text: '# Shipping\n\nOrders ship within two business days. Tracking numbers are emailed once the parcel leaves the warehouse.' },
];

describe.each(storeKinds())('hybrid knowledge retrieval on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let kbId: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    const configPath = path.join(tmpdir(), `warbler-kb-retrieval-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, 'version: 1\nrouter:\n  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 10 }\n');
    server = await startServer(kind, {
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath,
      WARBLER_RERANK_BASE_URL: upstream.url, WARBLER_RERANK_API_KEY: 'sk-fixture',
    });
    const kb = await server.api('POST', '/api/knowledge-bases', { name: 'Shop help' });
    kbId = kb.body.id;
    for (const doc of DOCS) expect((await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, doc)).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  const ledger = async () => {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { limit: 100 });
  };
  const search = async (query: string) => (await server.api('POST', `/api/knowledge-bases/${kbId}/search`, { query, k: 3 })).body;

  it('searches by keywords alone until an embedding model is set, with no provider call', async () => {
    expect((await server.api('GET', `/api/knowledge-bases/${kbId}/retrieval`)).body).toEqual({ embedding_model: null, rerank_model: null, embedded_chunks: 0 });
    const found = await search('退货要多久退款');
    expect(found.retrievers).toEqual(['bm25']);
    expect(found.passages[0]).toMatchObject({ title: '退货政策', scores: { bm25: expect.any(Number) } });
    expect(found.passages[0].scores.vector).toBeUndefined();
    expect(upstream.counts.embeddings).toBe(0);
  });

  it('embeds every chunk once when a model is set, bills it in the ledger, and fuses vectors with BM25', async () => {
    const set = await server.api('PUT', `/api/knowledge-bases/${kbId}/retrieval`, { embedding_model: 'text-embedding-3-small' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ embedding_model: 'text-embedding-3-small', rerank_model: null, embedded_chunks: 3 });
    // One batch of three chunks.
    expect(upstream.requests.filter((r) => r.path === '/v1/embeddings').map((r) => r.body.input.length)).toEqual([3]);
    const indexing = (await ledger()).filter((r) => r.purpose === 'knowledge_index');
    expect(indexing).toHaveLength(1);
    expect(indexing[0]).toMatchObject({ model: 'text-embedding-3-small', outcome: 'ok', source: 'agent', currency: 'USD' });
    expect(indexing[0]!.prompt_tokens).toBeGreaterThan(0);
    // text-embedding-3-small is $0.02 per 1M tokens: 20 nano-USD a token.
    expect(indexing[0]!.cost_nanos).toBe(BigInt(indexing[0]!.prompt_tokens) * 20n);

    const found = await search('开电子发票');
    expect(found.retrievers).toEqual(['bm25', 'vector']);
    expect(found.passages[0]).toMatchObject({ title: '发票', scores: { bm25: expect.any(Number), vector: expect.any(Number), fused: expect.any(Number) } });
    expect(found.passages[0].score).toBe(found.passages[0].scores.fused);
    expect((await ledger()).filter((r) => r.purpose === 'knowledge_query')).toHaveLength(1);
    // The same question again is a cache hit: no call, no row.
    await search('开电子发票');
    expect(upstream.counts.embeddings).toBe(2);
    expect((await ledger()).filter((r) => r.purpose === 'knowledge_query')).toHaveLength(1);
  });

  it('embeds only new text when a document is added or saved again unchanged', async () => {
    const before = upstream.counts.embeddings;
    expect((await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { ...DOCS[1], source: 'copy-of-invoice.md' })).status).toBe(201);
    expect(upstream.counts.embeddings).toBe(before);
    expect((await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { title: 'Gift wrap', text: '# Gift wrap\n\nGift wrapping costs two dollars per item.' })).status).toBe(201);
    expect(upstream.requests.filter((r) => r.path === '/v1/embeddings').map((r) => r.body.input.length)).toEqual([1]);
    expect((await server.api('GET', `/api/knowledge-bases/${kbId}/retrieval`)).body.embedded_chunks).toBe(5);
  });

  it('embeds everything again with a new model, and reranks through the rerank endpoint', async () => {
    const set = await server.api('PUT', `/api/knowledge-bases/${kbId}/retrieval`, { embedding_model: 'text-embedding-3-large', rerank_model: 'bge-reranker-v2-m3' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.embedded_chunks).toBe(5);
    // The copy of the invoice page has the same text: four distinct texts, embedded under the new model.
    const sent = upstream.requests.filter((r) => r.path === '/v1/embeddings');
    expect(sent.map((r) => [r.body.model, r.body.input.length])).toEqual([['text-embedding-3-large', 4]]);
    expect((await ledger()).filter((r) => r.model === 'text-embedding-3-large' && r.purpose === 'knowledge_index')).toHaveLength(1);

    const found = await search('how long does shipping take');
    expect(found.retrievers, found.degraded).toEqual(['bm25', 'vector', 'rerank']);
    expect(upstream.counts.rerank).toBe(1);
    expect(found.passages[0]).toMatchObject({ title: 'Shipping', scores: { rerank: expect.any(Number) } });
    const ranks = found.passages.map((p: any) => p.scores.rerank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
  });

  it('refuses a model the server does not serve, and a rerank model without an endpoint would be refused too', async () => {
    const bad = await server.api('PUT', `/api/knowledge-bases/${kbId}/retrieval`, { embedding_model: 'no-such-embedder' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('not a model this server serves');
    expect((await server.api('GET', `/api/knowledge-bases/${kbId}/retrieval`)).body.embedding_model).toBe('text-embedding-3-large');
  });

  // Without query rewriting: with it, the agent also searches the model's rewrites of the question (kb-citations.test.ts).
  it('gives an agent exactly the passages and context the retrieval test shows', async () => {
    const created = await server.api('POST', '/api/agents', { name: 'Shop helper', model: 'gpt-4o-mini', system_prompt: 'Be brief.', knowledge_base_ids: [kbId], top_k: 3, query_rewrite: false });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const question = '退货以后多久能退款';
    const shown = (await server.api('POST', `/api/knowledge-bases/${kbId}/search`, { query: question, k: 3 })).body;
    expect(shown.agent_context).toContain('退货政策');
    const alice = await server.user('Alice');
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [created.body.id] }, alice.token);
    const socket = await TestSocket.open(server.wsUrl, alice.token);
    upstream.script({ text: '七天内可以退货。' });
    await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: 'q1', content: { text: question } });
    await socket.next((f: any) => f.type === 'message.updated' && f.message?.sender_id === created.body.id && f.message.state === 'complete', 15_000);
    await socket.close();
    const chat = upstream.requests.find((r) => r.path === '/v1/chat/completions')!;
    expect(JSON.stringify(chat.body.messages)).toContain(JSON.stringify(shown.agent_context).slice(1, -1));
  });
});
