import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AckFrame, Message, MessageDeltaFrame, MessageFrame, MessageUpdatedFrame, ResultFrame, SyncResult } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const textOf = (m: Message) => (m.content as { text: string }).text;

/** Collects one streamed reply as a member sees it: the new message, its deltas in order, and how it ends. */
async function watchReply(socket: TestSocket, agentId: string, timeoutMs = 10_000) {
  const started = (await socket.next((f) => f.type === 'message' && f.message.sender_id === agentId, timeoutMs)) as MessageFrame;
  const id = started.message.id;
  const done = (await socket.next((f) => f.type === 'message.updated' && f.message.id === id, timeoutMs)) as MessageUpdatedFrame;
  const deltas = socket.frames.filter((f): f is MessageDeltaFrame => f.type === 'message.delta' && f.message_id === id);
  let assembled = '';
  for (const d of deltas) {
    expect(d.offset).toBe(assembled.length);
    assembled += d.text;
  }
  return { started: started.message, final: done.message, deltas, assembled };
}

describe.each(storeKinds())('AI agents on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let configPath: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 2 } });
    configPath = path.join(tmpdir(), `warbler-agents-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  gpt-4o-mini:',
      '    deployments: [openai/gpt-4o-mini]',
      '    fallbacks: [gpt-4o]',
      'router:',
      '  retry: { max_retries: 2, base_delay_ms: 10, max_delay_ms: 50 }',
      // The tool test's server is on loopback, which agent tools may only call when the operator allows it.
      'outbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }',
      '',
    ].join('\n'));
    server = await startServer(kind, {
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath,
      WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function setup(agent: Record<string, unknown> = {}, group = false) {
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const created = await server.api('POST', '/api/agents', { name: `Helper ${Math.random().toString(36).slice(2, 7)}`, model: 'gpt-4o-mini', system_prompt: 'Be brief.', ...agent });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const agentId: string = created.body.id;
    const conv = group
      ? await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [bob.id, agentId], title: 'Team' }, alice.token)
      : await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, alice.token);
    const a = await TestSocket.open(server.wsUrl, alice.token);
    const b = await TestSocket.open(server.wsUrl, bob.token);
    return { alice, bob, agentId, agentName: created.body.name as string, conversationId: conv.body.id as string, a, b };
  }

  async function ledger(agentId: string) {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { agent_id: agentId, limit: 100 });
  }

  it('streams a reply to every member in order, ends it complete, and bills exactly what upstream reported', async () => {
    const { agentId, agentName, conversationId, a, b } = await setup({}, true);
    upstream.script({ text: 'Noodles are a fine lunch choice.', chunkSize: 4, usage: { prompt_tokens: 120, completion_tokens: 9, cached_tokens: 64 } });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'q1', content: { text: `@${agentName} what should we eat?` } });
    const [seenByA, seenByB] = await Promise.all([watchReply(a, agentId), watchReply(b, agentId)]);
    for (const seen of [seenByA, seenByB]) {
      expect(seen.started.state).toBe('streaming');
      expect(seen.deltas.length).toBeGreaterThan(1);
      expect(seen.assembled).toBe('Noodles are a fine lunch choice.');
      expect(seen.final).toMatchObject({ state: 'complete', content: { text: 'Noodles are a fine lunch choice.', model: 'gpt-4o-mini', usage: { prompt_tokens: 120, completion_tokens: 9, cached_tokens: 64 } } });
    }
    expect(a.frames.some((f) => f.type === 'agent.state' && f.state === 'generating')).toBe(true);
    const request = upstream.requests.at(-1)!.body;
    expect(request.stream_options).toEqual({ include_usage: true });
    const rows = await ledger(agentId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ prompt_tokens: 120, completion_tokens: 9, cached_tokens: 64, estimated: false, outcome: 'ok', conversation_id: conversationId, currency: 'USD' });
    // gpt-4o-mini: (120-64) × $0.15 + 64 × $0.075 + 9 × $0.60 per 1M tokens = 8,400 + 4,800 + 5,400 nano-USD.
    expect(rows[0]!.cost_nanos).toBe(18_600n);
    // The console's usage report sees the same call and cost.
    const report = await server.api('GET', '/api/usage?group_by=agent');
    const mine = report.body.groups.find((g: { key: string }) => g.key === agentId);
    expect(mine).toMatchObject({ attempts: 1, promptTokens: 120, completionTokens: 9, cachedTokens: 64 });
    const calls = await server.api('GET', `/api/usage/calls?agent_id=${agentId}`);
    expect(calls.body.calls[0]).toMatchObject({ cost_nanos: '18600', model: 'gpt-4o-mini' });
    // A group message that does not mention the agent gets no reply.
    const before = upstream.counts.chat;
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'q2', content: { text: 'thanks all' } });
    await sleep(150);
    expect(upstream.counts.chat).toBe(before);
  });

  it('stops a reply mid-stream when a member asks, keeping the text so far and billing an estimate', async () => {
    const { agentId, conversationId, a } = await setup();
    upstream.script({ text: Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '), intervalMs: 30 });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 's1', content: { text: 'tell me a long story' } });
    const started = (await a.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    await a.next((f) => f.type === 'message.delta' && f.message_id === started.message.id);
    const stop = await a.request<ResultFrame<{ stopped: boolean }>>({ type: 'stop', message_id: started.message.id });
    expect(stop.data.stopped).toBe(true);
    const done = (await a.next((f) => f.type === 'message.updated' && f.message.id === started.message.id)) as MessageUpdatedFrame;
    expect(done.message.state).toBe('complete');
    expect(done.message.content).toMatchObject({ stopped: true, error: { code: 'stopped' } });
    expect(textOf(done.message).length).toBeGreaterThan(0);
    expect(textOf(done.message)).not.toContain('word59');
    const rows = await ledger(agentId);
    expect(rows[0]).toMatchObject({ outcome: 'stopped', estimated: true });
    expect(rows[0]!.completion_tokens).toBeGreaterThan(0);
  });

  it('gives a member who reconnects mid-reply the text so far and the rest', async () => {
    const { agentId, conversationId, bob, a, b } = await setup({}, true);
    const full = Array.from({ length: 40 }, (_, i) => `part${i}`).join(' ');
    upstream.script({ text: full, intervalMs: 25 });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'r1', content: { text: 'hi', mentions: [agentId] } });
    const started = (await b.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    await b.next((f) => f.type === 'message.delta' && f.message_id === started.message.id);
    b.drop();
    await sleep(200);
    const b2 = await TestSocket.open(server.wsUrl, bob.token);
    const sync = await b2.request<ResultFrame<SyncResult>>({ type: 'sync', cursors: { [conversationId]: started.message.seq - 1 } });
    const live = sync.data.conversations[0]!.messages.find((m) => m.id === started.message.id)!;
    expect(live.state).toBe('streaming');
    let text = textOf(live);
    expect(text.length).toBeGreaterThan(0);
    expect(full.startsWith(text)).toBe(true);
    const done = (await b2.next((f) => f.type === 'message.updated' && f.message.id === started.message.id)) as MessageUpdatedFrame;
    for (const d of b2.frames.filter((f): f is MessageDeltaFrame => f.type === 'message.delta' && f.message_id === started.message.id)) {
      if (d.offset + d.text.length <= text.length) continue;
      expect(d.offset).toBeLessThanOrEqual(text.length);
      text = text.slice(0, d.offset) + d.text;
    }
    expect(text).toBe(full);
    expect(textOf(done.message)).toBe(full);
    await b2.close();
  });

  it('retries a rate-limited call, then answers; each attempt is its own ledger row and only the answer costs', async () => {
    const { agentId, conversationId, a } = await setup();
    upstream.script({ fault: 'rate_limit', retryAfterMs: 20 }, { text: 'Second time lucky.', usage: { prompt_tokens: 50, completion_tokens: 4 } });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 't1', content: { text: 'hello?' } });
    const reply = await watchReply(a, agentId);
    expect(reply.final).toMatchObject({ state: 'complete', content: { text: 'Second time lucky.' } });
    const rows = (await ledger(agentId)).sort((x, y) => x.attempt - y.attempt);
    expect(rows.map((r) => [r.attempt, r.outcome, r.prompt_tokens, r.cost_nanos])).toEqual([
      [1, 'rate_limited', 0, 0n],
      [2, 'ok', 50, 50n * 150n + 4n * 600n],
    ]);
  });

  it('falls back to the next model when the first keeps failing, and says which model answered', async () => {
    const { agentId, conversationId, a } = await setup();
    upstream.script({ fault: 'status', status: 503, model: 'gpt-4o-mini', times: 3 }, { text: 'From the bigger model.', model: 'gpt-4o' });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'f1', content: { text: 'hello?' } });
    const reply = await watchReply(a, agentId);
    expect(reply.final).toMatchObject({ state: 'complete', content: { text: 'From the bigger model.', model: 'gpt-4o' } });
    const rows = await ledger(agentId);
    expect(rows.filter((r) => r.outcome === 'ok').map((r) => r.upstream_model)).toEqual(['gpt-4o']);
  });

  it('fails with a reason a person understands when every attempt fails, and costs nothing', async () => {
    const { agentId, conversationId, a } = await setup({ model: 'gpt-4o' });
    upstream.script({ fault: 'status', status: 500, times: 10 });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'x1', content: { text: 'hello?' } });
    const reply = await watchReply(a, agentId);
    expect(reply.final.state).toBe('failed');
    expect(reply.final.content).toMatchObject({ error: { code: 'server', message: expect.stringMatching(/try again/i) } });
    const rows = await ledger(agentId);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((r) => r.cost_nanos === 0n)).toBe(true);
  });

  it('stops an agent whose monthly budget is spent before it calls the model, with a clear message', async () => {
    const { agentId, conversationId, a } = await setup({ monthly_budget_usd: 0.00001 });
    upstream.script({ text: 'This one is paid for.', usage: { prompt_tokens: 100, completion_tokens: 20 } });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'b1', content: { text: 'first' } });
    expect((await watchReply(a, agentId)).final.state).toBe('complete');
    const calls = upstream.counts.chat;
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'b2', content: { text: 'second' } });
    const refused = (await a.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    expect(refused.message.state).toBe('failed');
    expect(refused.message.content).toMatchObject({ error: { code: 'budget_exceeded' } });
    expect(textOf(refused.message)).toMatch(/budget/i);
    expect(upstream.counts.chat).toBe(calls);
  });

  it('keeps the context within the window as a long chat goes on, folding old turns into a summary', async () => {
    const { agentId, conversationId, a } = await setup({ context_tokens: 1_200, max_tokens: 200 });
    const filler = 'The quarterly report covers revenue, hiring, churn and the new office in Hangzhou. '.repeat(6);
    for (let i = 0; i < 12; i++) {
      upstream.script({ text: `Noted ${i}.`, usage: { prompt_tokens: 10, completion_tokens: 3 } });
      await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: `l${i}`, content: { text: `${i}: ${filler}` } });
      await watchReply(a, agentId);
    }
    const { countChatTokens } = await import('../src/llm/index.ts');
    const replies = upstream.requests.filter((r) => r.path.endsWith('/chat/completions') && !String(r.body.messages[0].content).includes('running summary'));
    const summaries = upstream.requests.filter((r) => String(r.body.messages?.[0]?.content).includes('running summary'));
    expect(summaries.length).toBeGreaterThan(0);
    for (const r of replies) expect(countChatTokens(r.body.messages)).toBeLessThanOrEqual(1_200 - 200);
    // The newest question is always in the prompt, and the summary is too once it exists.
    const last = replies.at(-1)!.body.messages;
    expect(last.at(-1).content).toContain('11:');
    expect(last[0].content).toContain('Summary of the conversation so far');
  });

  it('starts afresh after /reset', async () => {
    const { agentId, conversationId, a } = await setup();
    upstream.script({ text: 'ok' });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'z1', content: { text: 'my name is Alice' } });
    await watchReply(a, agentId);
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'z2', content: { text: '/reset' } });
    const cleared = (await a.next((f) => f.type === 'message' && f.message.sender_id === agentId && f.message.state === 'complete')) as MessageFrame;
    expect(textOf(cleared.message)).toMatch(/Context cleared/);
    upstream.script({ text: 'who?' });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'z3', content: { text: 'what is my name?' } });
    await watchReply(a, agentId);
    const prompt = JSON.stringify(upstream.requests.at(-1)!.body.messages);
    expect(prompt).not.toContain('my name is Alice');
    expect(prompt).toContain('what is my name?');
  });

  it('runs tools the model asks for and answers with their results', async () => {
    const { createServer } = await import('node:http');
    const tool = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.end(JSON.stringify({ order: JSON.parse(body).order_id, status: 'shipped' })));
    });
    await new Promise<void>((r) => tool.listen(0, '127.0.0.1', r));
    const port = (tool.address() as { port: number }).port;
    try {
      const { agentId, conversationId, a } = await setup({
        tools: [{ name: 'order_status', description: 'Look up an order', parameters: { type: 'object', properties: { order_id: { type: 'string' } } }, url: `http://127.0.0.1:${port}/status` }],
      });
      upstream.script(
        { chunks: [], toolCalls: [{ name: 'order_status', arguments: '{"order_id":"A-17"}' }], usage: { prompt_tokens: 80, completion_tokens: 12 } },
        { text: 'Your order A-17 has shipped.', usage: { prompt_tokens: 110, completion_tokens: 8 } },
      );
      await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'o1', content: { text: 'where is order A-17?' } });
      const reply = await watchReply(a, agentId);
      expect(reply.final).toMatchObject({ state: 'complete', content: { text: 'Your order A-17 has shipped.', usage: { prompt_tokens: 190, completion_tokens: 20 } } });
      const second = upstream.requests.at(-1)!.body.messages;
      expect(second.at(-1)).toMatchObject({ role: 'tool', content: '{"order":"A-17","status":"shipped"}' });
      const rows = await ledger(agentId);
      expect(rows.map((r) => r.prompt_tokens).sort()).toEqual([110, 80]);
    } finally {
      tool.close();
    }
  });

  it('shows images to a vision model, and tells the user when the model cannot see them', async () => {
    const { agentId, conversationId, alice, a } = await setup();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a8f70b0000000049454e44ae426082', 'hex');
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'dot.png');
    const uploaded = await (await fetch(`${server.url}/api/conversations/${conversationId}/files`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form })).json();
    upstream.script({ text: 'A single dot.' });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'i1', msg_type: 'image', content: { file_id: uploaded.id, caption: 'what is this?' } });
    await watchReply(a, agentId);
    const parts = upstream.requests.at(-1)!.body.messages.at(-1).content;
    expect(parts).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'image_url', image_url: expect.objectContaining({ url: expect.stringMatching(/^data:image\/png;base64,/) }) })]));

    await server.api('PATCH', `/api/agents/${agentId}`, { vision: false });
    upstream.script({ text: 'I only read text.' });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'i2', msg_type: 'image', content: { file_id: uploaded.id } });
    const blind = await watchReply(a, agentId);
    expect(blind.final.content).toMatchObject({ notice: expect.stringMatching(/cannot see images/) });
    expect(JSON.stringify(upstream.requests.at(-1)!.body.messages)).not.toContain('image_url');
  });

  it('answers from a Chinese knowledge base with the built-in kb-answer model and cites the right passage', async () => {
    const kb = await server.api('POST', '/api/knowledge-bases', { name: '客服' });
    expect(kb.status).toBe(201);
    await server.api('POST', `/api/knowledge-bases/${kb.body.id}/documents`, { title: '退款政策', text: '# 退款政策\n\n收到商品后七天内可以申请无理由退款，退款会在三个工作日内原路返回。' });
    await server.api('POST', `/api/knowledge-bases/${kb.body.id}/documents`, { title: '配送时间', text: '# 配送时间\n\n江浙沪地区一般次日送达，偏远地区需要三到五天。' });
    await server.api('POST', `/api/knowledge-bases/${kb.body.id}/documents`, { title: '账户安全', text: '# 账户安全\n\n请开启两步验证，不要把验证码告诉任何人。' });
    const { agentId, conversationId, a } = await setup({ model: 'local/kb-answer', knowledge_base_ids: [kb.body.id] });
    await a.request({ type: 'send', conversation_id: conversationId, client_msg_id: 'k1', content: { text: '退款多久能到账？' } });
    const reply = await watchReply(a, agentId);
    expect(reply.final.state).toBe('complete');
    expect(textOf(reply.final)).toContain('三个工作日');
    const citations = (reply.final.content as { citations: { title: string; index: number }[] }).citations;
    expect(citations[0]).toMatchObject({ title: '退款政策' });
    expect(textOf(reply.final)).toContain(`[${citations[0]!.index}]`);
  });
});

describe('the demo agent', () => {
  it('is seeded on a fresh start and answers from Warbler\'s own docs with citations, offline', async () => {
    const server = await startServer('sqlite');
    try {
      const agents = await server.api('GET', '/api/agents');
      const demo = agents.body.agents.find((a: { name: string }) => a.name === 'Warbler Assistant');
      expect(demo).toMatchObject({ model: 'local/kb-answer' });
      const me = await server.user('Visitor');
      const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [demo.id] }, me.token);
      const socket = await TestSocket.open(server.wsUrl, me.token);
      const ack = await socket.request<AckFrame>({ type: 'send', conversation_id: conv.body.id, client_msg_id: 'd1', content: { text: 'How do I run the tests?' } });
      expect(ack.type).toBe('ack');
      const reply = await watchReply(socket, demo.id);
      expect(reply.final.state).toBe('complete');
      expect(textOf(reply.final)).toMatch(/npm test/);
      expect((reply.final.content as { citations: unknown[] }).citations.length).toBeGreaterThan(0);
      await socket.close();
    } finally {
      await server.stop();
    }
  });
});
