// Reconnect catch-up of reactions on a real server (SQLite and PostgreSQL): a sync with `since` answers with the
// whole set of every message whose reactions changed meanwhile, a removal included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from '../../test/harness.ts';

type U = { id: string; token: string };

describe.each(storeKinds())('reaction catch-up on %s', (kind) => {
  let s: TestServer;
  let alice: U, bob: U;
  let group: string;

  beforeAll(async () => {
    s = await startServer(kind);
    alice = await s.user('Alice');
    bob = await s.user('Bob');
    group = (await s.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, bob.id], title: 'Plans' }, alice.token)).body.id;
  }, 60_000);
  afterAll(async () => s?.stop());

  it('answers a sync with the reactions added and removed while the client was away', async () => {
    const send = async (text: string) => (await s.api('POST', `/api/conversations/${group}/messages`, { type: 'text', content: { text } }, alice.token)).body.message as { id: string; seq: number };
    const kept = await send('react to me');
    const undone = await send('and to me');
    await s.api('PUT', `/api/messages/${undone.id}/reactions/${encodeURIComponent('🎉')}`, undefined, bob.token);

    // Bob's client saw everything up to here, then went offline.
    const since = Date.now();
    const cursors = { [group]: undone.seq };
    await s.api('PUT', `/api/messages/${kept.id}/reactions/${encodeURIComponent('👍')}`, undefined, alice.token);
    await s.api('DELETE', `/api/messages/${undone.id}/reactions/${encodeURIComponent('🎉')}`, undefined, bob.token);

    const back = await TestSocket.open(s.wsUrl, bob.token);
    try {
      const reply = (await back.request({ type: 'sync', cursors, since })) as { type: string; data: { reactions?: Array<{ message_id: string; reactions: unknown[] }> } };
      expect(reply.type).toBe('result');
      const sets = new Map((reply.data.reactions ?? []).map((r) => [r.message_id, r.reactions]));
      expect(sets.get(kept.id)).toEqual([{ emoji: '👍', count: 1, user_ids: [alice.id] }]);
      expect(sets.get(undone.id)).toEqual([]);

      // A client that was not away long enough to miss them is not sent them again.
      const later = (await back.request({ type: 'sync', cursors, since: Date.now() + 1 })) as { data: { reactions?: unknown[] } };
      expect(later.data.reactions).toEqual([]);
    } finally {
      await back.close();
    }
  });

  it('a person erased while the client was away takes their reactions with them at the next sync', async () => {
    const carol = await s.user('Carol');
    expect((await s.api('POST', `/api/conversations/${group}/members`, { user_ids: [carol.id] }, alice.token)).status).toBeLessThan(300);
    const message = (await s.api('POST', `/api/conversations/${group}/messages`, { type: 'text', content: { text: 'vote here' } }, alice.token)).body.message as { id: string; seq: number };
    await s.api('PUT', `/api/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, undefined, carol.token);
    await s.api('PUT', `/api/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, undefined, bob.token);
    const since = Date.now();
    expect((await s.api('POST', `/api/privacy/users/${carol.id}/erase`)).status).toBe(200);

    const back = await TestSocket.open(s.wsUrl, bob.token);
    try {
      const reply = (await back.request({ type: 'sync', cursors: { [group]: message.seq }, since })) as { data: { reactions?: Array<{ message_id: string; reactions: unknown[] }> } };
      const sets = new Map((reply.data.reactions ?? []).map((r) => [r.message_id, r.reactions]));
      expect(sets.get(message.id)).toEqual([{ emoji: '👍', count: 1, user_ids: [bob.id] }]);
    } finally {
      await back.close();
    }
  });
});
