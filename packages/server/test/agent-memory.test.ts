import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Message, MessageUpdatedFrame } from '@warbler/protocol';
import { startUpstreamFixture, type RecordedRequest, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { storeKinds, TestSocket, type StoreKind } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

// Conversation memory as a user and an operator see it: a long chat folds old
// turns into a summary in a few steps (not one summary call per turn), the
// summary lives with the conversation across restarts until /reset, summary
// calls are billed to the agent and marked as summaries, and a fact given
// early is still in front of the model when a later turn asks about it.

const FOLD = 'New turns to fold in';
const SUMMARY = 'Alice is asking about a late parcel; the assistant is checking the depot.';
// About 1,300 tokens: long enough for the provider's prompt cache (1,024 tokens and up).
const SYSTEM_PROMPT = `You are the support assistant of Acme Parcels. ${'Be precise, friendly and brief; never invent tracking data. '.repeat(110)}`;

/** A Warbler that can be stopped and started again on the same data (SQLite dir or PostgreSQL database). */
async function restartable(kind: StoreKind, upstreamUrl: string) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-memory-'));
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  const config = loadConfig({
    WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'memory-test-master-key-0123',
    WARBLER_LOG_LEVEL: 'silent', OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstreamUrl,
    WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000',
    ...(db ? { WARBLER_DATABASE_URL: db.url } : {}),
  });
  let warbler: Warbler = await buildWarbler(config);
  let url = await warbler.listen();
  const secret = await warbler.apps.rotateSecret('default');
  const api = async (method: string, p: string, body?: unknown, credential = secret) => {
    const res = await fetch(url + p, {
      method, headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    get warbler() { return warbler; },
    get wsUrl() { return url.replace('http', 'ws') + '/ws'; },
    api,
    async restart() {
      await warbler.close();
      warbler = await buildWarbler(config);
      url = await warbler.listen();
    },
    async stop() {
      await warbler.close();
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type Server = Awaited<ReturnType<typeof restartable>>;

const isSummaryCall = (r: RecordedRequest) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body.messages).includes(FOLD);
const replyCalls = (fx: UpstreamFixture) => fx.requests.filter((r) => r.path.endsWith('/chat/completions') && !isSummaryCall(r));
const promptOf = (r: RecordedRequest) => JSON.stringify(r.body.messages);

describe.each(storeKinds())('conversation memory on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: Server;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await restartable(kind, upstream.url);
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  async function setup(agent: Record<string, unknown>) {
    upstream.reset();
    // Summary calls get a summary; every other call answers with the text of the step queued for its turn.
    upstream.script({ promptContains: FOLD, text: SUMMARY, times: Infinity });
    const user = await server.api('POST', '/api/users', { id: `alice-${Math.random().toString(36).slice(2, 8)}`, name: 'Alice' });
    const token = (await server.api('POST', `/api/users/${user.body.id}/tokens`, {})).body.token as string;
    const created = await server.api('POST', '/api/agents', { name: 'Parcels', model: 'gpt-4o-mini', system_prompt: SYSTEM_PROMPT, ...agent });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const agentId = created.body.id as string;
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, token);
    let socket = await TestSocket.open(server.wsUrl, token);
    let n = 0;
    /** Sends a message and waits until the agent's reply to it has ended. */
    const turn = async (text: string, reply = `Turn ${n}: I checked the depot; the parcel should arrive tomorrow before noon.`): Promise<Message> => {
      upstream.script({ text: reply });
      await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: `t${++n}`, content: { text } });
      const done = (await socket.next(
        (f) => f.type === 'message.updated' && f.message.sender_id === agentId && f.message.state !== 'streaming', 10_000,
      )) as MessageUpdatedFrame;
      return done.message;
    };
    /** Sends /reset and waits for the agent to say the context is cleared (a new message, no model call). */
    const reset = async () => {
      await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: `t${++n}`, content: { text: '/reset' } });
      await socket.next((f) => f.type === 'message' && f.message.sender_id === agentId && f.message.state === 'complete');
    };
    return {
      agentId, conversationId: conv.body.id as string, turn, reset,
      async reconnect() {
        socket = await TestSocket.open(server.wsUrl, token);
      },
    };
  }

  const question = (i: number) => `Question ${i}: my parcel is late again, could you please check where it is and when it will arrive at my door?`;

  it('folds a long chat in a few steps: 40 turns cost fewer than 1.2 upstream calls each, within the budget, mostly from cache', async () => {
    const { agentId, turn } = await setup({ history_tokens: 2_000 });
    for (let i = 0; i < 40; i++) expect((await turn(question(i))).state).toBe('complete');

    const summaries = upstream.requests.filter(isSummaryCall);
    const replies = replyCalls(upstream);
    expect(replies).toHaveLength(40);
    // Before: a summary on nearly every turn once the history overflowed (81 calls for 40 turns).
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(6);
    expect(replies.length + summaries.length).toBeLessThan(40 * 1.2);
    const { countChatTokens } = await import('../src/llm/index.ts');
    for (const r of replies) {
      const history = r.body.messages.slice(1);
      expect(countChatTokens(history)).toBeLessThanOrEqual(2_000);
    }
    // The beginning of the prompt repeats, so the provider serves it from its cache, and the ledger bills it so.
    await server.warbler.ledger.flush();
    const rows = await server.warbler.store.listLedger('default', { agent_id: agentId, limit: 100 });
    const replyRows = rows.filter((r) => r.purpose === 'reply');
    expect(replyRows).toHaveLength(40);
    const cached = replyRows.reduce((n, r) => n + r.cached_tokens, 0);
    const prompt = replyRows.reduce((n, r) => n + r.prompt_tokens, 0);
    expect(cached / prompt).toBeGreaterThan(0.6);
  });

  it('bills summary calls to the agent and the conversation, marked as summaries, and reports usage by purpose', async () => {
    const { agentId, conversationId, turn } = await setup({ history_tokens: 600 });
    for (let i = 0; i < 16; i++) await turn(question(i));
    await server.warbler.ledger.flush();
    const rows = await server.warbler.store.listLedger('default', { agent_id: agentId, limit: 100 });
    const summaries = rows.filter((r) => r.purpose === 'summary');
    expect(summaries.length).toBe(upstream.requests.filter(isSummaryCall).length);
    expect(summaries.length).toBeGreaterThan(0);
    for (const r of summaries) expect(r).toMatchObject({ source: 'agent', agent_id: agentId, conversation_id: conversationId, outcome: 'ok' });
    expect(summaries.every((r) => r.cost_nanos > 0n)).toBe(true);
    expect(rows.filter((r) => r.purpose === 'reply')).toHaveLength(16);

    const report = await server.api('GET', '/api/usage?group_by=purpose');
    expect(report.status).toBe(200);
    const keys = report.body.groups.map((g: { key: string | null }) => g.key);
    expect(keys).toEqual(expect.arrayContaining(['reply', 'summary']));
    const summaryGroup = report.body.groups.find((g: { key: string | null }) => g.key === 'summary');
    expect(summaryGroup.attempts).toBeGreaterThanOrEqual(summaries.length);
  });

  it('keeps the summary with the conversation across a restart, and /reset clears it', async () => {
    const { agentId, conversationId, turn, reset, reconnect } = await setup({ history_tokens: 600 });
    for (let i = 0; i < 16; i++) await turn(question(i));
    const memory = await server.warbler.store.getAgentMemory('default', agentId, conversationId);
    expect(memory?.summary).toBe(SUMMARY);

    await server.restart();
    await reconnect();
    upstream.reset();
    upstream.script({ promptContains: FOLD, text: SUMMARY, times: Infinity });
    await turn('Are you still there after the update?');
    // The summary came back from the store: in the prompt, and no summary call was needed to rebuild it.
    expect(upstream.requests.filter(isSummaryCall)).toHaveLength(0);
    expect(promptOf(replyCalls(upstream).at(-1)!)).toContain(SUMMARY);

    await reset();
    await turn('What do you know about me?');
    const last = promptOf(replyCalls(upstream).at(-1)!);
    expect(last).not.toContain(SUMMARY);
    expect(last).not.toContain('Question 15');
    expect(last).toContain('What do you know about me?');
    expect((await server.warbler.store.getAgentMemory('default', agentId, conversationId))?.summary).toBe('');
  });

  it('still has a fact given early in front of the model when a later turn asks about it, after it was folded away', async () => {
    const { turn } = await setup({ history_tokens: 600 });
    await turn('Hello! My order number is WB-58213-K, it was placed on the 3rd and has not arrived yet.');
    await turn('我的快递单号是 SF1402938475，麻烦帮我查一下。');
    for (let i = 0; i < 16; i++) await turn(question(i));
    // Both facts are out of the turns sent, and the (scripted) summary does not hold them.
    const before = promptOf(replyCalls(upstream).at(-1)!);
    expect(before).not.toContain('WB-58213-K');
    expect(before).not.toContain('SF1402938475');

    await turn('Which order number did I give you at the start? I need it for the refund form.');
    expect(promptOf(replyCalls(upstream).at(-1)!)).toContain('WB-58213-K');
    await turn('你还记得我的快递单号吗？');
    expect(promptOf(replyCalls(upstream).at(-1)!)).toContain('SF1402938475');
  });
});
