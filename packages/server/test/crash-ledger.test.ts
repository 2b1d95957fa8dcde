// kill -9 of a real Warbler process in the middle of an agent reply, a /v1
// stream and a burst of WebSocket sends; then a restart on the same data dir
// and database. What must hold: every message sent is stored exactly once, the
// reply is failed as interrupted, and the ledger has exactly one row per
// upstream call, settled as 'interrupted' with estimated tokens. A second
// part stops the server with SIGTERM while a /v1 stream outlives the grace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AckFrame, Message, MessageDeltaFrame, MessageFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../src/store/index.ts';
import { INTERRUPTED_BY_RESTART, INTERRUPTED_BY_SHUTDOWN } from '../src/usage/index.ts';
import { storeKinds, TestSocket } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

interface Child {
  url: string;
  secretFile: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** `warbler serve` in its own process, as an operator runs it; resolves once it says where it listens. */
async function startWarbler(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /running at (\S+)[\s\S]*app secret in:\s+(\S+)/.exec(out);
      if (m && out.includes('API reference')) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`warbler exited (${code}) before it was ready:\n${out}\n${err}`)));
  });
  const secretFile = /app secret in:\s+(\S+)/.exec(out)![1]!;
  return { url, secretFile, process: child, exited, stderr: () => err };
}

async function api(base: string, credential: string, method: string, p: string, body?: unknown) {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Opens a /v1 stream and resolves once `chunks` SSE events have arrived; the stream keeps running. */
async function openV1Stream(base: string, key: string, prompt: string, chunks: number): Promise<AbortController> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] }),
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = 0;
  while (seen < chunks) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended early');
    seen += decoder.decode(value).split('data: ').length - 1;
  }
  // Keep reading in the background so the server never waits on this client.
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {
      // The server died: that is the point.
    }
  })();
  return abort;
}

describe.each(storeKinds())('a crash mid-call on %s', (kind) => {
  let upstream: UpstreamFixture;
  let dataDir: string;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let env: Record<string, string>;
  const masterKey = 'crash-ledger-master-key-0123456789';

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 2 } });
    dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-crash-'));
    db = kind === 'postgres' ? await createTestDatabase() : undefined;
    env = {
      WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: masterKey, WARBLER_LOG_LEVEL: 'warn',
      WARBLER_SHUTDOWN_GRACE_MS: '2000', WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000',
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url,
      ...(db ? { WARBLER_DATABASE_URL: db.url } : {}),
    };
  });
  afterAll(async () => {
    await upstream?.close();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every send once, fails the reply as interrupted, and settles each upstream call in flight as interrupted with estimated tokens', async () => {
    // ---- first run: set up, then kill -9 with a reply, a /v1 stream and sends in flight ----
    const first = await startWarbler(env);
    const secret = (await readFile(first.secretFile, 'utf8')).trim();
    const call = (method: string, p: string, body?: unknown, credential = secret) => api(first.url, credential, method, p, body);
    const mkUser = async (id: string) => {
      expect((await call('POST', '/api/users', { id, name: id })).status).toBe(201);
      return (await call('POST', `/api/users/${id}/tokens`, {})).body.token as string;
    };
    const alice = await mkUser('alice');
    await mkUser('bob');
    const agent = await call('POST', '/api/agents', { name: 'Slowpoke', model: 'gpt-4o-mini', system_prompt: 'Be slow.', max_tokens: 500 });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const agentId = agent.body.id as string;
    const withAgent = (await call('POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, alice)).body.id as string;
    const withBob = (await call('POST', '/api/conversations', { kind: 'direct', member_ids: ['bob'] }, alice)).body.id as string;
    const key = await call('POST', '/api/gateway/keys', { name: 'crash' });
    expect(key.status).toBe(201);
    const keyId = key.body.key.id as string;
    const keySecret = key.body.secret as string;

    const a = await TestSocket.open(first.url.replace('http', 'ws') + '/ws', alice);
    const acked = ['s0', 's1', 's2', 's3', 's4'];
    for (const id of acked) {
      const ack = await a.request<AckFrame>({ type: 'send', conversation_id: withBob, client_msg_id: id, content: { text: id } });
      expect(ack.type).toBe('ack');
    }

    // A /v1 stream and an agent reply, both slow enough to be cut: 200 words at 50 ms each.
    upstream.script({ promptContains: 'relay slowly', text: words(200, 'v'), intervalMs: 50 });
    upstream.script({ promptContains: 'answer slowly', text: words(200, 'w'), intervalMs: 50 });
    const chatsBefore = upstream.counts.chat;
    const v1Stream = await openV1Stream(first.url, keySecret, 'relay slowly please', 10);
    await a.request({ type: 'send', conversation_id: withAgent, client_msg_id: 'q1', content: { text: 'answer slowly please' } });
    const started = (await a.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    // The streaming text is saved every 2 s: 60 deltas at 50 ms is past the first save.
    for (let i = 0; i < 60; i++) await a.next((f) => f.type === 'message.delta' && (f as MessageDeltaFrame).message_id === started.message.id);
    // Sends whose acks never come: the SDK keeps them in its outbox and sends them again after reconnecting.
    const unacked = Array.from({ length: 10 }, (_, i) => `u${i}`);
    for (const id of unacked) a.send({ type: 'send', id: `req-${id}`, conversation_id: withBob, client_msg_id: id, content: { text: id } });
    first.process.kill('SIGKILL');
    await first.exited;
    v1Stream.abort();
    a.drop();
    expect(upstream.counts.chat - chatsBefore).toBe(2);

    // ---- second run on the same data: resend what was not acknowledged, then look ----
    const second = await startWarbler(env);
    const call2 = (method: string, p: string, credential = secret) => api(second.url, credential, method, p);
    const b = await TestSocket.open(second.url.replace('http', 'ws') + '/ws', alice);
    for (const id of [...unacked, 's2']) {
      const ack = await b.request<AckFrame>({ type: 'send', conversation_id: withBob, client_msg_id: id, content: { text: id } });
      expect(ack.type, JSON.stringify(ack)).toBe('ack');
    }
    const history = (await call2('GET', `/api/conversations/${withBob}/messages?limit=100`, alice)).body.messages as Message[];
    const ids = history.map((m) => m.client_msg_id).sort();
    expect(ids).toEqual([...acked, ...unacked].sort());

    const reply = ((await call2('GET', `/api/conversations/${withAgent}/messages?limit=100`, alice)).body.messages as Message[]).find((m) => m.id === started.message.id)!;
    expect(reply).toMatchObject({ state: 'failed', content: { error: { code: 'interrupted' } } });
    expect((reply.content as { text: string }).text.length).toBeGreaterThan(0);

    const agentRows = (await call2('GET', `/api/usage/calls?agent_id=${agentId}`)).body.calls as LedgerRow[];
    const keyRows = (await call2('GET', `/api/usage/calls?key_id=${keyId}`)).body.calls as LedgerRow[];
    expect(agentRows).toHaveLength(1);
    expect(keyRows).toHaveLength(1);
    for (const row of [...agentRows, ...keyRows]) {
      expect(row).toMatchObject({ outcome: 'interrupted', estimated: true, error: INTERRUPTED_BY_RESTART });
      expect(row.prompt_tokens).toBeGreaterThan(0);
      expect(Number(row.cost_nanos)).toBeGreaterThan(0);
    }
    // The reply's saved text is what the user received: its tokens are billed, and no more than the reply asked for.
    expect(agentRows[0]!.completion_tokens).toBeGreaterThan(0);
    expect(agentRows[0]!.completion_tokens).toBeLessThan(500);
    expect(agentRows[0]).toMatchObject({ conversation_id: withAgent, message_id: started.message.id });
    // Nothing is left in flight, and reports count the interrupted calls.
    const report = (await call2('GET', '/api/usage?group_by=key')).body;
    expect(report.total.outcomes.pending).toBeUndefined();
    expect(report.groups.find((g: { key: string }) => g.key === keyId)).toMatchObject({ attempts: 1, outcomes: { interrupted: 1 } });
    await b.close();

    // ---- a graceful stop whose grace (2 s) a /v1 stream outlives: its row is settled by this run ----
    upstream.script({ promptContains: 'outlive the grace', text: words(200, 'g'), intervalMs: 50 });
    const long = await openV1Stream(second.url, keySecret, 'outlive the grace', 5);
    second.process.kill('SIGTERM');
    await second.exited;
    long.abort();

    const third = await startWarbler(env);
    try {
      const rows = (await api(third.url, secret, 'GET', `/api/usage/calls?key_id=${keyId}`)).body.calls as LedgerRow[];
      expect(rows).toHaveLength(2);
      expect(rows.find((r) => r.id !== keyRows[0]!.id)).toMatchObject({ outcome: 'interrupted', estimated: true, error: INTERRUPTED_BY_SHUTDOWN });
    } finally {
      third.process.kill('SIGTERM');
      await third.exited;
    }
  }, 120_000);
});
