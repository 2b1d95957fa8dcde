import type { Message, MessageFrame, MessageUpdatedFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';
import { makeWorkbook } from './kb-files.ts';

const textOf = (m: Message) => (m.content as { text: string }).text;

async function reply(socket: TestSocket, agentId: string) {
  const started = (await socket.next((f) => f.type === 'message' && f.message.sender_id === agentId, 15_000)) as MessageFrame;
  const done = (await socket.next((f) => f.type === 'message.updated' && f.message.id === started.message.id, 15_000)) as MessageUpdatedFrame;
  return done.message;
}

describe.each(storeKinds())('FAQs on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let kbId: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000' });
    kbId = (await server.api('POST', '/api/knowledge-bases', { name: 'Support' })).body.id;
    await server.api('POST', `/api/knowledge-bases/${kbId}/documents`, { title: 'Shipping', text: '# Shipping\n\nParcels to Europe arrive in three to five working days.' });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  async function chat(model: string) {
    // No query rewriting: these tests count the reply's own upstream calls (kb-citations.test.ts covers the rewrite).
    const agent = await server.api('POST', '/api/agents', { name: `Desk ${Math.random().toString(36).slice(2, 7)}`, model, system_prompt: 'Be brief.', knowledge_base_ids: [kbId], query_rewrite: false });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const me = await server.user('Customer');
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agent.body.id] }, me.token);
    const socket = await TestSocket.open(server.wsUrl, me.token);
    let n = 0;
    return {
      agentId: agent.body.id as string, me,
      async ask(text: string) {
        await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: `q${++n}`, content: { text } });
        return reply(socket, agent.body.id);
      },
    };
  }

  async function ledger(agentId: string) {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { agent_id: agentId, limit: 100 });
  }

  it('a close match is answered with the FAQ as written, through local/faq, at zero cost, with no upstream call', async () => {
    const added = await server.api('POST', `/api/knowledge-bases/${kbId}/faqs`, { question: '怎么修改绑定的手机号？', answer: '在「我的 → 账号与安全 → 手机号」里修改，需要验证旧手机号的验证码。' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ origin: 'console', kb_id: kbId });
    await server.api('POST', `/api/knowledge-bases/${kbId}/faqs`, { question: 'How do I cancel my subscription?', answer: 'Open Billing, choose Cancel plan; you keep access until the period ends.' });
    const { agentId, ask } = await chat('gpt-4o-mini');
    const before = upstream.requests.length;

    const zh = await ask('怎么修改绑定的手机号');
    expect(zh.state).toBe('complete');
    expect(textOf(zh)).toBe('在「我的 → 账号与安全 → 手机号」里修改，需要验证旧手机号的验证码。');
    const en = await ask('how do i cancel my subscription');
    expect(textOf(en)).toBe('Open Billing, choose Cancel plan; you keep access until the period ends.');
    expect(upstream.requests.length).toBe(before);

    const rows = await ledger(agentId);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ model: 'local/faq', outcome: 'ok', cost_nanos: 0n, purpose: 'reply' });
    expect(rows.map((r) => r.message_id).sort()).toEqual([zh.id, en.id].sort());

    // Not close enough: the model answers, and bills as usual.
    upstream.script({ text: 'Europe takes three to five days.', usage: { prompt_tokens: 50, completion_tokens: 8 } });
    const other = await ask('How long does shipping to Europe take?');
    expect(textOf(other)).toBe('Europe takes three to five days.');
    expect(upstream.requests.length).toBe(before + 1);
    expect((await ledger(agentId)).find((r) => r.message_id === other.id)).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('imports FAQs from CSV and XLSX (question/answer columns, Chinese headers too), refusing a file without pairs', async () => {
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Imported' })).body.id;
    const upload = async (name: string, data: Uint8Array) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(data)]), name);
      const res = await fetch(`${server.url}/api/knowledge-bases/${kb}/faqs/import`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}` }, body: form });
      return { status: res.status, body: await res.json() as any };
    };
    const csv = await upload('faq.csv', makeWorkbook({ S: [['问题', '答案'], ['发票怎么开？', '在订单详情页点击「申请发票」。'], ['', 'no question']] }, 'csv'));
    expect(csv).toMatchObject({ status: 200, body: { added: 1, skipped: 1 } });
    const xlsx = await upload('faq.xlsx', makeWorkbook({ FAQ: [['Question', 'Answer'], ['Do you ship to Canada?', 'Yes, in 7 days.'], ['Is there a | pipe?', 'Yes | it stays.']] }, 'xlsx'));
    expect(xlsx).toMatchObject({ status: 200, body: { added: 2, skipped: 0 } });
    const list = (await server.api('GET', `/api/knowledge-bases/${kb}/faqs`)).body.faqs;
    expect(list.map((f: { question: string; answer: string; origin: string }) => [f.question, f.answer, f.origin])).toEqual([
      ['发票怎么开？', '在订单详情页点击「申请发票」。', 'import'],
      ['Do you ship to Canada?', 'Yes, in 7 days.', 'import'],
      ['Is there a | pipe?', 'Yes | it stays.', 'import'],
    ]);
    expect((await upload('faq.pdf', new Uint8Array([1, 2, 3]))).status).toBe(415);
    expect((await upload('empty.csv', new TextEncoder().encode('question,answer\n'))).status).toBe(400);
  });

  it('an AI reply rated thumbs-up becomes an FAQ in one call, and then answers the same question for free', async () => {
    const { agentId, me, ask } = await chat('gpt-4o-mini');
    upstream.script({ text: 'Reset it under Settings → Security → Password [1].', usage: { prompt_tokens: 40, completion_tokens: 10 } });
    const answer = await ask('How can I reset my password?');
    const notRated = await server.api('POST', `/api/knowledge-bases/${kbId}/faqs/from-reply`, { message_id: answer.id });
    expect(notRated.status).toBe(400);
    expect(notRated.body.error.message).toMatch(/thumbs-up/);
    expect((await server.api('POST', `/api/messages/${answer.id}/feedback`, { rating: 'up' }, me.token)).status).toBe(200);
    const made = await server.api('POST', `/api/knowledge-bases/${kbId}/faqs/from-reply`, { message_id: answer.id });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ question: 'How can I reset my password?', answer: 'Reset it under Settings → Security → Password.', origin: 'rated_reply', message_id: answer.id });
    const calls = upstream.requests.length;
    const again = await ask('how can I reset my password');
    expect(textOf(again)).toBe('Reset it under Settings → Security → Password.');
    expect(upstream.requests.length).toBe(calls);
    expect((await ledger(agentId)).find((r) => r.message_id === again.id)).toMatchObject({ model: 'local/faq', cost_nanos: 0n });
  });

  it('edits and deletes; unknown ids and another knowledge base answer 404', async () => {
    const faq = (await server.api('POST', `/api/knowledge-bases/${kbId}/faqs`, { question: 'Q?', answer: 'A.' })).body;
    expect((await server.api('PUT', `/api/knowledge-bases/${kbId}/faqs/${faq.id}`, { question: 'Q2?', answer: 'A2.' })).body).toMatchObject({ question: 'Q2?', answer: 'A2.' });
    const other = (await server.api('POST', '/api/knowledge-bases', { name: 'Other' })).body.id;
    expect((await server.api('DELETE', `/api/knowledge-bases/${other}/faqs/${faq.id}`)).status).toBe(404);
    expect((await server.api('DELETE', `/api/knowledge-bases/${kbId}/faqs/${faq.id}`)).status).toBe(204);
    expect((await server.api('DELETE', `/api/knowledge-bases/${kbId}/faqs/${faq.id}`)).status).toBe(404);
    expect((await server.api('POST', `/api/knowledge-bases/${kbId}/faqs`, { question: ' ', answer: 'x' })).status).toBe(400);
  });
});
