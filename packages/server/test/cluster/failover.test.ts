// Three nodes on one PostgreSQL and one Redis: a key's limits hold over all
// of them, and a node killed with -9 in the middle of traffic loses nothing:
// its clients reconnect to a surviving node and end with every message once,
// in order.
import type { Message } from '@warbler/protocol';
import { WarblerClient } from '@warbler/sdk';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Balancer, clusterAvailable, startCluster, type Cluster } from './nodes.ts';

describe.skipIf(!clusterAvailable())('three nodes, one killed with -9', () => {
  let cluster: Cluster;
  let upstream: UpstreamFixture;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 1 } });
    cluster = await startCluster(3, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await cluster?.close();
    await upstream?.close();
  });

  it('lets exactly RPM requests of a key through, spread over three nodes', async () => {
    const key = await cluster.api(cluster.nodes[0]!, 'POST', '/api/gateway/keys', { name: 'rpm-10', rpm: 10 });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const secret = key.body.secret as string;
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${cluster.nodes[i % 3]!.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${i}` }] }),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('moves the clients of a killed node to a surviving one, with every message once and in order', async () => {
    const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const users = ['ann', 'ben', 'cat'];
    for (const id of users) expect((await cluster.api(a, 'POST', '/api/users', { id, name: id })).status).toBe(201);
    const group = (await cluster.api(a, 'POST', '/api/conversations', { kind: 'group', member_ids: users, title: 'Failover' })).body.id as string;
    // Each user's balancer prefers a different node; Ann's is A, which dies, so she moves to B.
    const routes = [[a.port, b.port], [b.port, c.port], [c.port, a.port]];
    const clients = await Promise.all(
      users.map(async (id, i) => {
        const balancer = await new Balancer(routes[i]!).listen();
        cleanups.push(() => balancer.close());
        const token = async () => (await cluster.api(b, 'POST', `/api/users/${id}/tokens`, {})).body.token as string;
        const client = new WarblerClient({ url: balancer.url, WebSocket: WebSocket as never, token, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
        cleanups.push(() => client.close());
        const seen: Message[] = [];
        client.on('message', (m) => {
          if (m.conversation_id === group) seen.push(m);
        });
        await client.connect();
        return { id, client, seen };
      }),
    );

    const perUser = 30;
    const sent: Promise<Message>[] = [];
    const sendRound = (round: number) => {
      for (const { id, client } of clients) sent.push(client.send(group, `${id} ${round}`));
    };
    for (let round = 0; round < perUser; round++) {
      sendRound(round);
      if (round === 10) {
        // Mid-traffic: sends of this round may be stored, acknowledged or neither when A dies.
        a.process.kill('SIGKILL');
        await a.exited;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const stored = await Promise.all(sent);
    expect(new Set(stored.map((m) => m.id)).size).toBe(perUser * users.length);

    const total = perUser * users.length;
    await Promise.all(clients.map(({ client, seen }) => waitFor(() => seen.length >= total, 20_000, client)));
    for (const { seen } of clients) {
      expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      for (const { id } of clients) {
        expect(seen.filter((m) => m.sender_id === id).map((m) => (m.content as { text: string }).text)).toEqual(Array.from({ length: perUser }, (_, r) => `${id} ${r}`));
      }
    }
    const history = (await cluster.api(b, 'GET', `/api/conversations/${group}/messages?limit=200`)).body.messages as Message[];
    expect(history).toHaveLength(total);
  }, 50_000);
});

/** Resolves once `done()` holds, checking after each message the client receives. */
function waitFor(done: () => boolean, timeoutMs: number, client: WarblerClient): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for messages'));
    }, timeoutMs);
    const off = client.on('message', () => {
      if (!done()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
