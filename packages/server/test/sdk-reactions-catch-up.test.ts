// The SDK across a lost connection: reactions added and taken back while a client was offline reach it
// when it reconnects (messages are gap-filled by seq; reaction sets come with the sync), and pins made on
// another device arrive live. Real server, SQLite and PostgreSQL.
import type { MemberPrefsPushFrame, ReactionPushFrame, ReactionSummary } from '@warbler/protocol';
import { WarblerClient } from '@warbler/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, storeKinds, type TestServer } from './harness.ts';

/** A WebSocket whose network can be cut: while offline, every new socket fails at once, as without a network. */
function cuttableSocket() {
  const open = new Set<WebSocket>();
  let offline = false;
  class CuttableWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      if (offline) throw new Error('network is down');
      super(url, protocols);
      open.add(this);
      this.once('close', () => open.delete(this));
    }
  }
  return {
    WebSocket: CuttableWebSocket,
    cut() {
      offline = true;
      for (const ws of open) ws.terminate();
    },
    restore() {
      offline = false;
    },
  };
}

describe.each(storeKinds())('SDK reconnect catch-up of reactions on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer(kind);
  }, 60_000);
  afterAll(async () => s?.stop());

  it('shows reactions added and removed while offline once the client is back, and a pin from another device live', async () => {
    const alice = await s.user('Alice');
    const bob = await s.user('Bob');
    const group = (await s.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, bob.id], title: 'Trip' }, alice.token)).body.id as string;
    const send = async (text: string) => (await s.api('POST', `/api/conversations/${group}/messages`, { type: 'text', content: { text } }, alice.token)).body.message as { id: string };
    const react = (method: 'PUT' | 'DELETE', messageId: string, emoji: string, token: string) =>
      s.api(method, `/api/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`, undefined, token);

    const net = cuttableSocket();
    const client = new WarblerClient({ url: s.url, WebSocket: net.WebSocket as never, token: bob.token, reconnect: { minDelayMs: 30, maxDelayMs: 150 } });
    // What Bob's app would show: each message's reactions, as the events leave them.
    const shown = new Map<string, ReactionSummary[]>();
    client.on('reaction', (f: ReactionPushFrame) => shown.set(f.message_id, f.reactions));
    const prefs: MemberPrefsPushFrame[] = [];
    client.on('member.prefs', (f) => prefs.push(f));
    try {
      await client.connect();
      const plan = await send('Hike on Saturday?');
      const food = await send('I bring the food');
      await react('PUT', food.id, '🎉', alice.token);
      await expect.poll(() => shown.get(food.id)?.map((r) => r.emoji), { timeout: 10_000 }).toEqual(['🎉']);

      net.cut();
      await expect.poll(() => client.status, { timeout: 10_000 }).toBe('reconnecting');
      await react('PUT', plan.id, '👍', alice.token);
      await react('DELETE', food.id, '🎉', alice.token);
      expect(shown.has(plan.id)).toBe(false);

      net.restore();
      await expect.poll(() => client.status, { timeout: 10_000 }).toBe('open');
      await expect.poll(() => shown.get(plan.id), { timeout: 10_000 }).toEqual([{ emoji: '👍', count: 1, user_ids: [alice.id] }]);
      await expect.poll(() => shown.get(food.id), { timeout: 10_000 }).toEqual([]);

      // Bob pins the conversation from his phone: this client hears it.
      const pinned = await s.api('PATCH', `/api/conversations/${group}/prefs`, { pinned: true }, bob.token);
      expect(pinned.status).toBe(200);
      await expect.poll(() => prefs.map((p) => [p.conversation_id, p.pinned]), { timeout: 10_000 }).toEqual([[group, true]]);
      expect((await client.conversations.list()).conversations.find((c) => c.id === group)).toMatchObject({ pinned: true, muted: false });
      expect(await client.conversations.mute(group)).toMatchObject({ pinned: true, muted: true });
    } finally {
      client.close();
    }
  });
});
