import type { ErrorFrame, Message } from '@warbler/protocol';
import { WarblerClient } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDbProxy } from './db-proxy.ts';
import { startServer, TestSocket, type TestServer } from './harness.ts';
import { createTestDatabase, postgresAdminUrl } from './postgres.ts';

interface Drill {
  proxy: Awaited<ReturnType<typeof startDbProxy>>;
  server: TestServer;
  alice: { id: string; token: string };
  conversationId: string;
  aliceSdk: WarblerClient;
  /** Every message Bob's SDK has been told of, in order. */
  bobSaw: Message[];
}

/**
 * A live Warbler whose PostgreSQL sits behind a TCP proxy the test can fail,
 * Alice and Bob in a group, both on the SDK, and Alice's first message
 * ('before', seq 1) already stored. A short database timeout lets a silent
 * outage be noticed within the test; the default is 15 s.
 */
async function outageDrill(title: string, run: (drill: Drill) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  const target = new URL(db.url);
  const proxy = await startDbProxy({ host: target.hostname, port: Number(target.port) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const server = await startServer('sqlite', { WARBLER_DATABASE_URL: viaProxy.toString(), WARBLER_DATABASE_TIMEOUT_MS: '400' });
  const clients: WarblerClient[] = [];
  try {
    const alice = await server.user('Alice');
    const bob = await server.user('Bob');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, bob.id], title })).body;
    for (const token of [alice.token, bob.token]) {
      clients.push(new WarblerClient({ url: server.url, WebSocket: WebSocket as never, token, reconnect: { minDelayMs: 50, maxDelayMs: 200 } }));
    }
    const [aliceSdk, bobSdk] = clients as [WarblerClient, WarblerClient];
    const bobSaw: Message[] = [];
    bobSdk.on('message', (m) => bobSaw.push(m));
    await Promise.all([aliceSdk.connect(), bobSdk.connect()]);
    expect((await aliceSdk.send(conv.id, 'before')).seq).toBe(1);
    await run({ proxy, server, alice, conversationId: conv.id, aliceSdk, bobSaw });
  } finally {
    for (const c of clients) c.close();
    await server.stop();
    await proxy.close();
    await db.drop();
  }
}

const texts = (messages: Message[]) => messages.map((m) => (m.content as { text: string }).text);

/** PostgreSQL going away under a live server: clients are told to retry, and what they sent is stored once it is back. */
describe.skipIf(!postgresAdminUrl())('a PostgreSQL outage', () => {
  it.each(['reset', 'silent'] as const)(
    '(%s) sends are refused as unavailable (503 over REST), the SDK retries them, and each is stored once after the database returns',
    (outage) =>
      outageDrill('Outage drill', async ({ proxy, server, alice, conversationId, aliceSdk, bobSaw }) => {
        const raw = await TestSocket.open(server.wsUrl, alice.token);
        const rawSend = { type: 'send', conversation_id: conversationId, client_msg_id: 'raw-1', msg_type: 'text', content: { text: 'raw' } };

        proxy.fail(outage);
        const refused = (await raw.request(rawSend)) as ErrorFrame;
        expect([refused.type, refused.code]).toEqual(['error', 'unavailable']);
        expect(refused.message).toMatch(/try again/i);
        const rest = await server.api('POST', `/api/conversations/${conversationId}/messages`, { sender_id: alice.id, type: 'text', content: { text: 'rest' } });
        expect(rest.status).toBe(503);
        expect(rest.body.error.code).toBe('unavailable');
        expect(rest.headers.get('retry-after')).toBe('2');

        const during = [aliceSdk.send(conversationId, 'during 1'), aliceSdk.send(conversationId, 'during 2')];
        // Long enough for several refused attempts: the sends must still be pending, not failed.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        expect(aliceSdk.pending().map((p) => p.content)).toEqual([{ text: 'during 1' }, { text: 'during 2' }]);

        proxy.restore();
        const stored = await Promise.all(during);
        expect(stored.map((m) => m.seq)).toEqual([2, 3]);
        const retried = await raw.request(rawSend);
        expect(retried.type).toBe('ack');

        await expect.poll(() => texts(bobSaw), { timeout: 10_000 }).toEqual(['before', 'during 1', 'during 2', 'raw']);
        const history = await server.api('GET', `/api/conversations/${conversationId}/messages?limit=50`);
        expect(history.body.messages.map((m: Message) => [m.seq, (m.content as { text: string }).text])).toEqual([
          [1, 'before'], [2, 'during 1'], [3, 'during 2'], [4, 'raw'],
        ]);
        await raw.close();
      }),
  );

  it('(mute) a send that committed while its answer was lost is pushed to the conversation when the retry finds it', () =>
    outageDrill('Lost answer', async ({ proxy, server, conversationId, aliceSdk, bobSaw }) => {
      await expect.poll(() => bobSaw.length).toBe(1);

      proxy.fail('mute');
      const sending = aliceSdk.send(conversationId, 'committed in the dark');
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(aliceSdk.pending()).toHaveLength(1);
      expect(bobSaw).toHaveLength(1);

      proxy.restore();
      const stored = await sending;
      expect(stored.seq).toBe(2);
      // No later message arrives to reveal a gap: Bob gets it only because the retry pushed it.
      await expect.poll(() => texts(bobSaw), { timeout: 5_000 }).toEqual(['before', 'committed in the dark']);
      expect(bobSaw[1]!.id).toBe(stored.id);
      const history = await server.api('GET', `/api/conversations/${conversationId}/messages?limit=50`);
      expect(history.body.messages).toHaveLength(2);
    }));
});
