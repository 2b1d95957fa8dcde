// Two nodes on one PostgreSQL and one Redis: people connected to different
// nodes chat as if there were one.
import type { AckFrame, MessageDeltaFrame, MessageFrame, MessageUpdatedFrame, ResultFrame } from '@warbler/protocol';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSocket } from '../harness.ts';
import { clusterAvailable, startCluster, type Cluster } from './nodes.ts';

/** The index on another node catches up a moment after the change: wait for it, up to 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the other node');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

describe.skipIf(!clusterAvailable())('two nodes on PostgreSQL and Redis', () => {
  let cluster: Cluster;
  let upstream: UpstreamFixture;
  const tokens: Record<string, string> = {};
  const sockets: TestSocket[] = [];
  const open = async (node: number, user: string) => {
    const s = await TestSocket.open(cluster.nodes[node]!.wsUrl, tokens[user]!);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 2 } });
    cluster = await startCluster(2, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
    const [a] = cluster.nodes;
    for (const id of ['alice', 'bob', 'carol']) {
      expect((await cluster.api(a!, 'POST', '/api/users', { id, name: id })).status).toBe(201);
      tokens[id] = (await cluster.api(a!, 'POST', `/api/users/${id}/tokens`, {})).body.token;
    }
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.drop();
    await cluster?.close();
    await upstream?.close();
  });

  it('delivers direct messages, receipts and typing live between nodes', async () => {
    const alice = await open(0, 'alice');
    const bob = await open(1, 'bob');
    const direct = (await cluster.api(cluster.nodes[0]!, 'POST', '/api/conversations', { kind: 'direct', member_ids: ['bob'] }, tokens.alice)).body.id as string;

    const ack = await alice.request<AckFrame>({ type: 'send', conversation_id: direct, client_msg_id: 'd1', content: { text: 'hello from A' } });
    const seen = (await bob.next((f) => f.type === 'message' && f.message.conversation_id === direct)) as MessageFrame;
    expect(seen.message).toMatchObject({ id: ack.message.id, seq: ack.message.seq, sender_id: 'alice', content: { text: 'hello from A' } });

    bob.send({ type: 'read', conversation_id: direct, seq: ack.message.seq });
    expect(await alice.next((f) => f.type === 'receipt')).toMatchObject({ conversation_id: direct, user_id: 'bob', kind: 'read', seq: ack.message.seq });
    bob.send({ type: 'typing', conversation_id: direct });
    expect(await alice.next((f) => f.type === 'typing')).toMatchObject({ conversation_id: direct, user_id: 'bob' });

    await bob.request({ type: 'send', conversation_id: direct, client_msg_id: 'd2', content: { text: 'hello from B' } });
    expect(((await alice.next((f) => f.type === 'message' && f.message.client_msg_id === 'd2')) as MessageFrame).message.seq).toBe(ack.message.seq + 1);
  });

  it('delivers a group\'s messages to members on both nodes, each once and in seq order', async () => {
    const alice = await open(0, 'alice');
    const bob = await open(1, 'bob');
    const carol = await open(1, 'carol');
    const group = (await cluster.api(cluster.nodes[1]!, 'POST', '/api/conversations', { kind: 'group', member_ids: ['bob', 'carol'], title: 'Both nodes' }, tokens.alice)).body.id as string;
    // Senders on both nodes at once: each member sees all 40, once each, in seq order.
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => alice.request({ type: 'send', conversation_id: group, client_msg_id: `a${i}`, content: { text: `a${i}` } })),
      ...Array.from({ length: 20 }, (_, i) => carol.request({ type: 'send', conversation_id: group, client_msg_id: `c${i}`, content: { text: `c${i}` } })),
    ]);
    for (const [socket, except] of [[alice, 'a'], [bob, ''], [carol, 'c']] as const) {
      const expected = except === '' ? 40 : 20;
      const frames = (await socket.collect('message', expected)) as MessageFrame[];
      const ids = frames.map((f) => f.message.client_msg_id!);
      expect(new Set(ids).size).toBe(expected);
      expect(ids.every((id) => !except || !id.startsWith(except))).toBe(true);
    }
    const history = (await cluster.api(cluster.nodes[0]!, 'GET', `/api/conversations/${group}/messages?limit=100`, undefined, tokens.bob)).body.messages as { seq: number }[];
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    carol.send({ type: 'typing', conversation_id: group });
    expect(await alice.next((f) => f.type === 'typing' && f.conversation_id === group)).toMatchObject({ user_id: 'carol' });
  });

  it('closes a user\'s sockets on every node when their tokens are revoked on one', async () => {
    const onA = await open(0, 'carol');
    const onB = await open(1, 'carol');
    const closed = (s: TestSocket) => new Promise<number>((resolve) => (s.closeCode !== undefined ? resolve(s.closeCode) : s.ws.once('close', resolve)));
    expect((await cluster.api(cluster.nodes[0]!, 'POST', '/api/users/carol/tokens/revoke', {})).status).toBe(200);
    expect(await Promise.all([closed(onA), closed(onB)])).toEqual([4001, 4001]);
  });

  it('stops an agent reply streaming on node A when a member asks node B', async () => {
    const agent = await cluster.api(cluster.nodes[0]!, 'POST', '/api/agents', { name: 'Slowpoke', model: 'gpt-4o-mini', system_prompt: 'Be slow.', max_tokens: 500 });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const agentId = agent.body.id as string;
    const chat = (await cluster.api(cluster.nodes[0]!, 'POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, tokens.alice)).body.id as string;
    const onA = await open(0, 'alice');
    const onB = await open(1, 'alice');
    upstream.script({ promptContains: 'answer slowly', text: words(400, 'w'), intervalMs: 20 });
    // Sent on A: node A stores it, so node A's agents answer and A streams the reply.
    await onA.request({ type: 'send', conversation_id: chat, client_msg_id: 'q1', content: { text: 'answer slowly please' } });
    const started = (await onB.next((f) => f.type === 'message' && f.message.sender_id === agentId)) as MessageFrame;
    await onB.next((f) => f.type === 'message.delta' && (f as MessageDeltaFrame).message_id === started.message.id);

    const result = await onB.request<ResultFrame>({ type: 'stop', message_id: started.message.id });
    expect(result.data).toEqual({ stopped: true });
    const done = (await onA.next((f) => f.type === 'message.updated' && f.message.id === started.message.id && f.message.state !== 'streaming', 10_000)) as MessageUpdatedFrame;
    expect(done.message.content).toMatchObject({ stopped: true });
    expect((done.message.content as { text: string }).text.split(' ').length).toBeLessThan(400);
  });

  it('lets an agent created through node A answer a message sent on node B', async () => {
    const agent = await cluster.api(cluster.nodes[0]!, 'POST', '/api/agents', { name: 'Echo', model: 'gpt-4o-mini', system_prompt: 'Answer briefly.' });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const agentId = agent.body.id as string;
    const chat = (await cluster.api(cluster.nodes[1]!, 'POST', '/api/conversations', { kind: 'direct', member_ids: [agentId] }, tokens.alice)).body.id as string;
    const onB = await open(1, 'alice');
    // Stored on B, so B's runtime answers: B heard of the agent from A.
    await onB.request({ type: 'send', conversation_id: chat, client_msg_id: 'hello-agent', content: { text: 'hello agent' } });
    const reply = (await onB.next((f) => f.type === 'message.updated' && f.message.sender_id === agentId && f.message.state === 'complete', 10_000)) as MessageUpdatedFrame;
    expect((reply.message.content as { text: string }).text.length).toBeGreaterThan(0);
  });

  it('finds on node B a document added and deleted through node A', async () => {
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    expect((await cluster.api(a, 'POST', '/api/knowledge-bases', { id: 'handbook', name: 'Handbook' })).status).toBe(201);
    const doc = await cluster.api(a, 'POST', '/api/knowledge-bases/handbook/documents', { title: 'Refunds', text: '# Refunds\n\nRefunds of the zephyr plan take nine days.' });
    expect(doc.status, JSON.stringify(doc.body)).toBe(201);
    const search = async () => (await cluster.api(b, 'POST', '/api/knowledge-bases/handbook/search', { query: 'zephyr refunds' })).body.passages as unknown[];
    await until(async () => (await search()).length > 0);
    expect((await cluster.api(a, 'DELETE', `/api/knowledge-bases/handbook/documents/${doc.body.id}`)).status).toBe(204);
    await until(async () => (await search()).length === 0);
  });

  it('says nothing was stopped when no reply is streaming anywhere', async () => {
    const onB = await open(1, 'alice');
    const result = await onB.request<ResultFrame>({ type: 'stop', message_id: 'msg_nothing_here' });
    expect(result.data).toEqual({ stopped: false });
  });

  // Last in the file: it leaves gpt-4o-mini's deployment open.
  it('opens a failing deployment\'s circuit on every node, not only the one that saw the failures', async () => {
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const deployments = async (node: typeof a) =>
      ((await cluster.api(node, 'GET', '/api/models')).body.models as { name: string; deployments: { id: string; state: string }[] }[])
        .find((m) => m.name === 'gpt-4o-mini')!.deployments;
    expect((await deployments(b)).map((d) => d.state)).toEqual(['closed']);
    upstream.script({ promptContains: 'break the deployment', fault: 'status', status: 500, times: 50 });
    const call = () =>
      fetch(`${a.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.masterKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'break the deployment' }] }),
      }).then((r) => r.status);
    // Each call is tried three times (two retries): two calls are past the threshold of five failures.
    expect([await call(), await call()].every((status) => status >= 500)).toBe(true);
    expect((await deployments(a)).map((d) => d.state)).toEqual(['open']);
    await until(async () => (await deployments(b))[0]!.state === 'open');
  });
});
