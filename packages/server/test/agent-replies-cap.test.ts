// One person may be waiting for only so many agent replies at once (issue 10,
// noisy neighbours): beyond that their message to an agent is refused with
// 429 before it is stored, so nobody can queue model calls without end.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageUpdatedFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('agent replies one person may wait for on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-agent-cap-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, 'version: 1\nroutes:\n  gpt-4o-mini:\n    deployments: [openai/gpt-4o-mini]\n');
    server = await startServer(kind, {
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath, WARBLER_AGENT_REPLIES_PER_USER: '2',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  it('refuses a third message while two replies are pending, with a 429 saying what to do; others and human chats are not affected', async () => {
    const agent = (await server.api('POST', '/api/agents', { name: 'Slowpoke', model: 'gpt-4o-mini', system_prompt: 'Be brief.' })).body.id as string;
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const send = (token: string, conv: string, text: string) => server.api('POST', `/api/conversations/${conv}/messages`, { type: 'text', content: { text } }, token);
    const withAgent = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agent] }, alice.token)).body.id as string;
    const withBob = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [bob.id] }, alice.token)).body.id as string;
    const bobWithAgent = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [agent] }, bob.token)).body.id as string;
    const watcher = await TestSocket.open(server.wsUrl, alice.token);
    upstream.script({ promptContains: 'slow', text: 'done', ttftMs: 800, times: 2 });

    expect((await send(alice.token, withAgent, 'slow one')).status).toBe(201);
    expect((await send(alice.token, withAgent, 'slow two')).status).toBe(201);
    const before = (await server.api('GET', `/api/conversations/${withAgent}/messages?limit=50`, undefined, alice.token)).body.messages.length;
    const refused = await send(alice.token, withAgent, 'three');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.body.error.message).toMatch(/still answering 2 of your messages.*WARBLER_AGENT_REPLIES_PER_USER/);
    // Not stored.
    expect((await server.api('GET', `/api/conversations/${withAgent}/messages?limit=50`, undefined, alice.token)).body.messages).toHaveLength(before);
    // A chat with a person, and another person asking the same agent, go through.
    expect((await send(alice.token, withBob, 'hi Bob')).status).toBe(201);
    expect((await send(bob.token, bobWithAgent, 'hello')).status).toBe(201);

    // Once the replies are in, Alice may ask again.
    for (let i = 0; i < 2; i++) {
      const done = (await watcher.next((f) => f.type === 'message.updated' && f.message.sender_id === agent && f.message.state === 'complete', 10_000)) as MessageUpdatedFrame;
      expect(done.message.conversation_id).toBe(withAgent);
    }
    await server.warbler.runtime.idle();
    expect((await send(alice.token, withAgent, 'three, again')).status).toBe(201);
    await watcher.close();
  });
});
