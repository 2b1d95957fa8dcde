import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDeltaFrame, MessageFrame, MessageUpdatedFrame } from '@warbler/protocol';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

const INSTALL = [
  '# Install',
  '',
  'Run the installer from a terminal. The note [2] in the vendor manual does not apply.',
  '',
  '```sh',
  'curl -fsSL https://example.test/install.sh | sh',
  'warbler serve --port 8080',
  '```',
].join('\n');
const WARRANTY = '# Flux capacitor warranty\n\nEvery flux capacitor is covered for two years from delivery; send it back for a free repair.';

/** Agent replies, citations in each style, the document behind a citation, and query rewriting on a real model. */
describe.each(storeKinds())('citations and query rewriting on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let kbId: string;
  let installDoc: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    const configPath = path.join(tmpdir(), `warbler-kb-citations-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, 'version: 1\nrouter:\n  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 10 }\n');
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    kbId = (await server.api('POST', '/api/knowledge-bases', { name: 'Product help' })).body.id;
    const added = await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { title: 'Install', source: 'install.md', text: INSTALL });
    expect(added.status).toBe(201);
    installDoc = added.body.id;
    expect((await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { title: 'Warranty', source: 'https://shop.example.test/warranty', text: WARRANTY })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(async () => {
    upstream.reset();
    await setStyle('numbered');
  });

  async function agent(model: string, extra: Record<string, unknown> = {}) {
    const created = await server.api('POST', '/api/agents', { name: `Helper ${model}`, model, knowledge_base_ids: [kbId], top_k: 3, ...extra });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as string;
  }

  /** Asks an agent in a new direct chat; resolves with the agent's finished reply. */
  async function ask(agentId: string, question: string, who?: { id: string; token: string }) {
    const user = who ?? (await server.user('Reader'));
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, user.token);
    expect(conv.status, JSON.stringify(conv.body)).toBe(201);
    const sent = await server.api('POST', `/api/conversations/${conv.body.id}/messages`, { content: { text: question } }, user.token);
    expect(sent.status, JSON.stringify(sent.body)).toBeLessThan(300);
    const deadline = Date.now() + 20_000;
    for (;;) {
      await server.warbler.runtime.idle();
      const page = await server.api('GET', `/api/conversations/${conv.body.id}/messages?limit=10`, undefined, user.token);
      const reply = page.body.messages.find((m: any) => m.sender_id === agentId && m.state !== 'streaming');
      if (reply) return { reply, user, conversationId: conv.body.id as string };
      if (Date.now() > deadline) throw new Error(`no reply to "${question}"`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const setStyle = async (style: string) => {
    const put = await server.api('PUT', `/api/knowledge-bases/${kbId}/settings`, { chunk_tokens: 300, overlap_tokens: 40, top_k: 5, citation_style: style });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  };

  it('numbered: [n] markers and the cited passage whole, its code block uncut, a literal [2] in it not a citation', async () => {
    await setStyle('numbered');
    const { reply } = await ask(await agent('local/kb-answer'), 'how do I run the installer from a terminal?');
    expect(reply.state).toBe('complete');
    expect(reply.content.text).toMatch(/^\[1\] Install/m);
    expect(reply.content.citation_style).toBeUndefined();
    expect(reply.content.citations.map((c: any) => c.index)).toEqual([1]);
    const [cite] = reply.content.citations;
    expect(cite).toMatchObject({ kb_id: kbId, document_id: installDoc, title: 'Install', source: 'install.md', location: '' });
    expect(cite.snippet).toContain('```sh\ncurl -fsSL https://example.test/install.sh | sh\nwarbler serve --port 8080\n```');
  });

  it('footnotes: the same markers and passages, marked for the reader to show as footnotes', async () => {
    await setStyle('footnotes');
    const { reply } = await ask(await agent('local/kb-answer'), 'how do I run the installer from a terminal?');
    expect(reply.content.citation_style).toBe('footnotes');
    expect(reply.content.citations.map((c: any) => c.index)).toEqual([1]);
    expect(reply.content.text).toMatch(/^\[1\] Install/m);
  });

  it('none: no markers and no sources, the quoted passage still there', async () => {
    await setStyle('none');
    const { reply } = await ask(await agent('local/kb-answer'), 'how do I run the installer from a terminal?');
    expect(reply.content.citations).toEqual([]);
    expect(reply.content.text).not.toMatch(/^\[\d\]/m);
    expect(reply.content.text).toMatch(/^Install \(install\.md\)$/m);
    expect(reply.content.text).toContain('> Run the installer from a terminal. The note [2] in the vendor manual does not apply.');
  });

  it('none on a real model: the markers never show while the reply streams, even split across chunks', async () => {
    await setStyle('none');
    const agentId = await agent('gpt-4o-mini', { query_rewrite: false });
    // Two-character chunks cut "[1]" apart; "[2](…)" is a link and stays.
    upstream.script({ text: 'Covered for two years [1]. Send it back [2] for a free repair, see [2](https://shop.example.test).', chunkSize: 2 });
    const user = await server.user('Streamer');
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, user.token);
    const socket = await TestSocket.open(server.wsUrl, user.token);
    try {
      await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: 'n1', content: { text: 'how long is the flux capacitor warranty?' } });
      const started = (await socket.next((f) => f.type === 'message' && f.message.sender_id === agentId, 10_000)) as MessageFrame;
      const done = (await socket.next((f) => f.type === 'message.updated' && f.message.id === started.message.id, 10_000)) as MessageUpdatedFrame;
      const deltas = socket.frames.filter((f): f is MessageDeltaFrame => f.type === 'message.delta' && f.message_id === started.message.id);
      expect(deltas.length).toBeGreaterThan(3);
      const streamed = deltas.map((d) => d.text).join('');
      const shown = 'Covered for two years. Send it back for a free repair, see [2](https://shop.example.test).';
      expect(streamed).toBe(shown);
      for (const d of deltas) expect(d.text).not.toMatch(/\[\d\]?$|^\d?\]/);
      expect(done.message.content).toMatchObject({ text: shown, citations: [] });
    } finally {
      socket.ws.close();
    }
  });

  it('serves the cited document to members of the conversation only, while the agent keeps the knowledge base', async () => {
    const agentId = await agent('local/kb-answer');
    const { reply, user } = await ask(agentId, 'flux capacitor warranty');
    const index = reply.content.citations[0].index;
    const url = `/api/messages/${reply.id}/citations/${index}`;
    const seen = await server.api('GET', url, undefined, user.token);
    expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    expect(seen.body).toMatchObject({ index, kb_id: kbId, title: 'Warranty', url: 'https://shop.example.test/warranty', format: 'markdown', text: WARRANTY });
    // Someone outside the conversation, a citation the reply does not have, and a person's message claiming one.
    const stranger = await server.user('Stranger');
    expect((await server.api('GET', url, undefined, stranger.token)).status).toBe(403);
    expect((await server.api('GET', `/api/messages/${reply.id}/citations/9`, undefined, user.token)).status).toBe(404);
    // Detached from the agent, the knowledge base is no longer this conversation's to read.
    expect((await server.api('PATCH', `/api/agents/${agentId}`, { knowledge_base_ids: [] })).status).toBe(200);
    expect((await server.api('GET', url, undefined, user.token)).status).toBe(404);
  });

  it('on a real model, rewrites the question into search queries first: a question that matches only after rewriting, cited, the call in the ledger', async () => {
    const agentId = await agent('gpt-4o-mini');
    upstream.script({ promptContains: 'Search queries:', text: 'flux capacitor warranty\nflux capacitor repair' });
    upstream.script({ text: 'Two years from delivery [1].' });
    const question = 'my DeLorean gizmo died, what now?';
    // Searched as asked, the question finds nothing about the warranty.
    const plain = await server.api('POST', `/api/knowledge-bases/${kbId}/search`, { query: question, k: 3 });
    expect(plain.body.passages.map((p: any) => p.title)).not.toContain('Warranty');
    const { reply } = await ask(agentId, question);
    expect(reply.state, JSON.stringify(reply.content)).toBe('complete');
    const chats = upstream.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chats).toHaveLength(2);
    // The rewrite: a short non-streaming call carrying the question.
    expect(chats[0]!.body.stream).toBeFalsy();
    expect(JSON.stringify(chats[0]!.body.messages)).toContain(question);
    // The reply was given the passage only the rewritten queries find.
    expect(JSON.stringify(chats[1]!.body.messages)).toContain('Flux capacitor warranty');
    expect(reply.content.citations).toMatchObject([{ index: 1, title: 'Warranty' }]);
    await server.warbler.ledger.flush();
    const rows = await server.warbler.store.listLedger('default', { limit: 100 });
    const rewrite = rows.filter((r) => r.purpose === 'query_rewrite' && r.agent_id === agentId);
    expect(rewrite).toHaveLength(1);
    expect(rewrite[0]).toMatchObject({ model: 'gpt-4o-mini', outcome: 'ok', message_id: reply.id });
    expect(rewrite[0]!.prompt_tokens).toBeGreaterThan(0);
  });

  it('does not rewrite a question an FAQ answers: no model call at all', async () => {
    const faq = await server.api('POST', `/api/knowledge-bases/${kbId}/faqs`, { question: 'Do you ship to Mars?', answer: 'Not yet.' });
    expect(faq.status).toBe(201);
    const { reply } = await ask(await agent('gpt-4o-mini'), 'Do you ship to Mars?');
    expect(reply.content.text).toBe('Not yet.');
    expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
  });

  it('falls back to the question itself when the rewrite fails, and never rewrites when switched off', async () => {
    const agentId = await agent('gpt-4o-mini');
    upstream.script({ promptContains: 'Search queries:', fault: 'status', status: 500 });
    upstream.script({ text: 'It runs from a terminal [1].' });
    const { reply } = await ask(agentId, 'how do I run the installer from a terminal?');
    expect(reply.state, JSON.stringify(reply.content)).toBe('complete');
    expect(reply.content.citations).toMatchObject([{ index: 1, title: 'Install' }]);

    upstream.reset();
    const off = await agent('gpt-4o-mini', { query_rewrite: false });
    upstream.script({ text: 'It runs from a terminal [1].' });
    const second = await ask(off, 'how do I run the installer from a terminal?');
    expect(second.reply.state).toBe('complete');
    expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });
});
