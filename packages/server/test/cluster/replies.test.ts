// Agent replies in a cluster: a node that starts while another streams a
// reply leaves that reply alone (it used to fail it as orphaned), and the
// replies of a node killed with -9 are failed as interrupted by a survivor
// once the dead node's presence runs out.
import type { MessageFrame, MessageUpdatedFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSocket } from '../harness.ts';
import { clusterAvailable, startCluster, startNode, type Cluster } from './nodes.ts';

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

describe.skipIf(!clusterAvailable())('agent replies while nodes come and go', () => {
  let cluster: Cluster;
  let upstream: UpstreamFixture;
  const sockets: TestSocket[] = [];
  let agentId: string;
  let chat: string;
  let token: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 2 } });
    cluster = await startCluster(2, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_BATCH_LEASE_MS: '2000' });
    const [a] = cluster.nodes;
    expect((await cluster.api(a!, 'POST', '/api/users', { id: 'alice', name: 'alice' })).status).toBe(201);
    token = (await cluster.api(a!, 'POST', '/api/users/alice/tokens', {})).body.token;
    agentId = (await cluster.api(a!, 'POST', '/api/agents', { name: 'Slowpoke', model: 'gpt-4o-mini', system_prompt: 'Be slow.', max_tokens: 500 })).body.id;
    chat = (await cluster.api(a!, 'POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, token)).body.id;
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.drop();
    await cluster?.close();
    await upstream?.close();
  });

  const open = async (i: number) => {
    const s = await TestSocket.open(cluster.nodes[i]!.wsUrl, token);
    sockets.push(s);
    return s;
  };
  /** Asks on node A for a slow reply; resolves once it streams. */
  const slowReply = async (onA: TestSocket, tag: string) => {
    upstream.script({ promptContains: tag, text: words(300, 'w'), intervalMs: 25 });
    await onA.request({ type: 'send', conversation_id: chat, client_msg_id: tag, content: { text: `${tag} please` } });
    return ((await onA.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame).message.id;
  };
  const end = (s: TestSocket, id: string, timeoutMs: number) =>
    s.next((f) => f.type === 'message.updated' && f.message.id === id && f.message.state !== 'streaming', timeoutMs) as Promise<MessageUpdatedFrame>;

  it('keeps a reply streaming on A when node C starts meanwhile', async () => {
    const onA = await open(0);
    const id = await slowReply(onA, 'first slow');
    const c = await startNode('C', cluster.env);
    cluster.nodes.push(c);
    const done = await end(onA, id, 20_000);
    expect(done.message.state).toBe('complete');
    expect((done.message.content as { text: string }).text.split(' ')).toHaveLength(300);
  });

  it('fails the replies of a node killed with -9 as interrupted, from a surviving node', async () => {
    const onA = await open(0);
    const onB = await open(1);
    const id = await slowReply(onA, 'second slow');
    await cluster.nodes[0]!.kill('SIGKILL');
    const done = await end(onB, id, 15_000);
    expect(done.message).toMatchObject({ state: 'failed', content: { error: { code: 'interrupted' } } });
  });
});
