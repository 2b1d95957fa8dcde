// Pin and mute, each member for themselves, on a real server (SQLite and PostgreSQL): what the list says,
// who hears of a change (only the member's own sessions), and who may change it.
import type { ConversationSummary, MemberPrefsPushFrame } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from '../../test/harness.ts';

type U = { id: string; token: string };

describe.each(storeKinds())('pin and mute on %s', (kind) => {
  let s: TestServer;
  let alice: U, bob: U;
  let group: string, direct: string;

  beforeAll(async () => {
    s = await startServer(kind);
    alice = await s.user('Alice');
    bob = await s.user('Bob');
    group = (await s.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, bob.id], title: 'Plans' }, alice.token)).body.id;
    direct = (await s.api('POST', '/api/conversations', { kind: 'direct', member_ids: [alice.id, bob.id] }, alice.token)).body.id;
  }, 60_000);
  afterAll(async () => s?.stop());

  const list = async (u: U) => {
    const r = await s.api('GET', '/api/conversations', undefined, u.token);
    expect(r.status).toBe(200);
    return new Map((r.body.conversations as ConversationSummary[]).map((c) => [c.id, c]));
  };
  const prefs = (u: U, id: string, body: Record<string, unknown>, credential = u.token) => s.api('PATCH', `/api/conversations/${id}/prefs`, body, credential);

  it('lists nothing pinned or muted at first', async () => {
    const mine = await list(alice);
    expect(mine.get(group)).toMatchObject({ pinned: false, muted: false });
    expect(mine.get(direct)).toMatchObject({ pinned: false, muted: false });
  });

  it('pins and mutes for the caller only, and tells only the caller\'s other sessions', async () => {
    const aliceOtherTab = await TestSocket.open(s.wsUrl, alice.token);
    const bobTab = await TestSocket.open(s.wsUrl, bob.token);
    try {
      const r = await prefs(alice, group, { pinned: true, muted: true });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ conversation_id: group, pinned: true, muted: true });
      expect(r.body.pinned_at).toBeGreaterThan(0);

      const pushed = (await aliceOtherTab.next((f) => f.type === 'member.prefs')) as MemberPrefsPushFrame;
      expect(pushed).toMatchObject({ conversation_id: group, pinned: true, muted: true, pinned_at: r.body.pinned_at });

      expect((await list(alice)).get(group)).toMatchObject({ pinned: true, muted: true });
      expect((await list(bob)).get(group)).toMatchObject({ pinned: false, muted: false });
      // Bob heard nothing of it: a message he then receives proves his socket was listening.
      await s.api('POST', `/api/conversations/${group}/messages`, { type: 'text', content: { text: 'after the pin' } }, alice.token);
      await bobTab.next((f) => f.type === 'message');
      expect(bobTab.frames.some((f) => f.type === 'member.prefs')).toBe(false);
    } finally {
      await aliceOtherTab.close();
      await bobTab.close();
    }
  });

  it('a mute set through the older member route reaches the member\'s other sessions too', async () => {
    const bobOtherTab = await TestSocket.open(s.wsUrl, bob.token);
    try {
      const r = await s.api('PATCH', `/api/conversations/${direct}/members/${bob.id}`, { muted: true }, bob.token);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const pushed = (await bobOtherTab.next((f) => f.type === 'member.prefs')) as MemberPrefsPushFrame;
      expect(pushed).toMatchObject({ conversation_id: direct, muted: true });
      expect((await list(bob)).get(direct)).toMatchObject({ muted: true });
      await s.api('PATCH', `/api/conversations/${direct}/members/${bob.id}`, { muted: false }, bob.token);
    } finally {
      await bobOtherTab.close();
    }
  });

  it('keeps the first pin time on a repeated pin, unpins and unmutes each on its own', async () => {
    const first = await prefs(alice, direct, { pinned: true });
    const again = await prefs(alice, direct, { pinned: true });
    expect(again.body.pinned_at).toBe(first.body.pinned_at);
    expect((await prefs(alice, group, { muted: false })).body).toMatchObject({ pinned: true, muted: false });
    expect((await prefs(alice, group, { pinned: false })).body).toMatchObject({ pinned: false, muted: false, pinned_at: null });
    const mine = await list(alice);
    expect(mine.get(group)).toMatchObject({ pinned: false, muted: false });
    expect(mine.get(direct)).toMatchObject({ pinned: true });
  });

  it('refuses someone else\'s settings with a user token, an empty change and a stranger; the app acts for a named member', async () => {
    expect((await prefs(alice, group, { pinned: true, user_id: bob.id })).status).toBe(403);
    expect((await prefs(alice, group, {})).status).toBe(400);
    const carol = await s.user('Carol');
    expect((await prefs(carol, group, { pinned: true })).body.error.code).toBe('not_member');
    const byApp = await prefs(bob, group, { muted: true, user_id: bob.id }, s.appSecret);
    expect(byApp.status).toBe(200);
    expect((await list(bob)).get(group)).toMatchObject({ muted: true, pinned: false });
  });
});
