// Redis killed while two nodes carry traffic: each node keeps serving its own
// clients, /healthz says degraded, and once Redis is back every client ends
// with every message once and in order, with no more sends needed.
import type { Message } from '@warbler/protocol';
import { WarblerClient } from '@warbler/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { clusterAvailable, startCluster, type Cluster } from './nodes.ts';

describe.skipIf(!clusterAvailable())('Redis restarted under traffic', () => {
  let cluster: Cluster;
  const clients: WarblerClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster(2);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.close();
  });

  const health = async (i: number) => (await fetch(`${cluster.nodes[i]!.url}/healthz`)).json() as Promise<{ status: string; degraded?: string[] }>;
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('serves each node\'s clients while Redis is away and recovers every message when it returns', async () => {
    const a = cluster.nodes[0]!;
    const users = ['ann', 'ben'];
    for (const id of users) expect((await cluster.api(a, 'POST', '/api/users', { id, name: id })).status).toBe(201);
    const group = (await cluster.api(a, 'POST', '/api/conversations', { kind: 'group', member_ids: users, title: 'Outage' })).body.id as string;
    const people = await Promise.all(
      users.map(async (id, i) => {
        const token = async () => (await cluster.api(a, 'POST', `/api/users/${id}/tokens`, {})).body.token as string;
        const client = new WarblerClient({ url: cluster.nodes[i]!.url, WebSocket: WebSocket as never, token, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
        clients.push(client);
        const seen: Message[] = [];
        client.on('message', (m) => {
          if (m.conversation_id === group) seen.push(m);
        });
        await client.connect();
        return { id, client, seen };
      }),
    );
    const round = async (tag: string, n: number) => {
      for (let i = 0; i < n; i++) await Promise.all(people.map(({ id, client }) => client.send(group, `${id} ${tag}${i}`)));
    };
    expect(await health(0)).toEqual({ status: 'ok' });

    await round('before', 10);
    await until('both clients have the first 20', async () => people.every(({ seen }) => seen.length === 20));
    await cluster.redis.stop(true);
    await until('node A says degraded', async () => (await health(0)).status === 'degraded');
    expect(await health(0)).toEqual({ status: 'degraded', degraded: ['redis'] });
    // Ann's node stores and acknowledges her sends while Redis is away; Ben, on the other node, hears nothing of them.
    for (let i = 0; i < 10; i++) await people[0]!.client.send(group, `ann during${i}`);
    expect(people[1]!.seen).toHaveLength(20);
    await cluster.redis.start();
    await until('both nodes are healthy again', async () => (await health(0)).status === 'ok' && (await health(1)).status === 'ok');

    // No more sends: Ben's node asks him to resync, and his client fetches what he missed.
    await until('every client has every message', async () => people.every(({ seen }) => seen.length >= 30), 15_000);
    await round('after', 5);
    await until('the later messages arrive live', async () => people.every(({ seen }) => seen.length >= 40));
    for (const { seen } of people) {
      expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      for (const id of users) {
        const texts = seen.filter((m) => m.sender_id === id).map((m) => (m.content as { text: string }).text);
        expect(texts).toEqual([
          ...Array.from({ length: 10 }, (_, i) => `${id} before${i}`),
          ...(id === 'ann' ? Array.from({ length: 10 }, (_, i) => `ann during${i}`) : []),
          ...Array.from({ length: 5 }, (_, i) => `${id} after${i}`),
        ]);
      }
    }
  }, 50_000);
});
