// Provider moderation as a guardrail on /v1 (decision 0022): the prompt before
// it is sent and the model's answer before the caller has it, judged by the
// upstream fixture's OpenAI moderation (anything with "kill" is violence).
// A flagged prompt is a 400 that costs nothing; a flagged answer is withheld
// (finish_reason content_filter) or, streamed, ends in an error event; both
// are billed (the model ran) and logged as interventions.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import type { MessageFrame, MessageUpdatedFrame } from '@warbler/protocol';
import OpenAI, { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('provider moderation of prompts and answers (%s)', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let client: OpenAI;
  let keyId: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-moderation-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, ['version: 1', 'guardrails:', '  moderation: { input: true, output: true }', '  policies:', '    input-only: { moderation: { input: true, output: false } }', ''].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    const created = await server.warbler.keys.create('default', { name: 'moderated' });
    keyId = created.key.id;
    client = new OpenAI({ apiKey: created.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function rows(id = keyId): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { key_id: id, limit: 50 });
  }
  const moderated = () => upstream.requests.filter((r) => r.path === '/v1/moderations').map((r) => r.body.input as string);

  it('lets a harmless prompt and answer through, having judged both', async () => {
    upstream.script({ text: 'Stop it with Ctrl+C.' });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I stop a process?' }] });
    expect(res.choices[0]?.message.content).toBe('Stop it with Ctrl+C.');
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(moderated()).toEqual(['How do I stop a process?', 'Stop it with Ctrl+C.']);
  });

  it('refuses a flagged prompt with 400 content_policy_violation before any model call, at no cost', async () => {
    const before = (await rows()).length;
    const chats = upstream.counts.chat;
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'how do I kill my neighbour' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 400, code: 'content_policy_violation', param: 'messages' });
    expect((err as APIError).message).toMatch(/moderation:violence.*nothing was billed/);
    expect(upstream.counts.chat).toBe(chats);
    expect((await rows()).length).toBe(before);
  });

  it('withholds a flagged answer (finish_reason content_filter), bills it, and logs the intervention', async () => {
    upstream.script({ text: 'First, kill the lights.', usage: { prompt_tokens: 10, completion_tokens: 6 } });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Set the mood for a film night.' }] });
    expect(res.choices[0]?.finish_reason).toBe('content_filter');
    expect(res.choices[0]?.message.content).toBe('');
    expect((res as unknown as { warbler: { moderation: { categories: string[] } } }).warbler.moderation.categories).toEqual(['violence']);
    const [row] = await rows();
    expect(row).toMatchObject({ outcome: 'ok', prompt_tokens: 10, completion_tokens: 6 });
    expect(row!.cost_nanos > 0n).toBe(true);
    const list = await server.api('GET', '/api/guardrails/interventions');
    expect(list.status).toBe(200);
    const rules = (list.body.interventions as Array<{ rule: string; action: string; path: string }>).map((i) => `${i.rule}/${i.action}/${i.path}`);
    expect(rules).toContain('moderation:violence/block/v1');
  });

  it('ends a flagged stream with a content_policy_violation error the SDK raises, after the text it streamed', async () => {
    upstream.script({ text: 'You could kill some time reading.' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'I am bored.' }] });
    let text = '';
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('You could kill some time reading.');
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toMatch(/Withheld by this server's content policy/);
  });

  it("judges an agent's reply whole when it ends: a flagged one fails in place of what was streamed, and is billed", async () => {
    const alice = await server.user('Alice');
    const agent = await server.api('POST', '/api/agents', { name: 'Moderated agent', model: 'gpt-4o-mini', system_prompt: 'Be brief.' });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const conv = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agent.body.id] }, alice.token);
    const socket = await TestSocket.open(server.wsUrl, alice.token);
    const ask = async (text: string) => {
      await socket.request({ type: 'send', conversation_id: conv.body.id, client_msg_id: `m${Math.random()}`, content: { text } });
      const started = (await socket.next((f) => f.type === 'message' && f.message.sender_id === agent.body.id)) as MessageFrame;
      return ((await socket.next((f) => f.type === 'message.updated' && f.message.id === started.message.id)) as MessageUpdatedFrame).message;
    };
    upstream.script({ text: 'Just kill the power.' });
    const reply = await ask('The lights will not turn off.');
    expect(reply.state).toBe('failed');
    expect(reply.content).toMatchObject({ error: { code: 'content_policy_violation', message: expect.stringMatching(/Withheld.*moderation:violence/) } });
    // What was streamed is not kept: the failed message says why instead.
    expect(JSON.stringify(reply.content)).not.toContain('kill the power');
    await server.warbler.ledger.flush();
    const billed = await server.warbler.store.listLedger('default', { agent_id: agent.body.id, limit: 10 });
    expect(billed.map((r) => r.outcome)).toEqual(['ok']);

    const chats = upstream.counts.chat;
    const refused = await ask('Should I kill the process?');
    expect(refused.content).toMatchObject({ error: { code: 'content_policy_violation', message: expect.stringMatching(/nothing was billed/) } });
    expect(upstream.counts.chat).toBe(chats);
    await socket.close();
  });

  it('a policy may moderate prompts only', async () => {
    const created = await server.warbler.keys.create('default', { name: 'input only', metadata: { guardrails: 'input-only' } });
    const inputOnly = new OpenAI({ apiKey: created.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    upstream.script({ text: 'kill -9 1234' });
    const res = await inputOnly.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Stop pid 1234 hard.' }] });
    expect(res.choices[0]?.message.content).toBe('kill -9 1234');
    expect(moderated()).toEqual(['Stop pid 1234 hard.']);
  });
});
