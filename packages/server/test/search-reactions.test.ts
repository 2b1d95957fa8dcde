// Message search over the blind index and emoji reactions, end to end on a
// real server (SQLite and PostgreSQL): what a user finds, what they never
// find, what the database holds, and what every member sees live.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReactionPushFrame, SearchHit } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

type U = { id: string; token: string };

describe.each(storeKinds())('message search and reactions on %s', (kind) => {
  let s: TestServer;
  let alice: U, bob: U, carol: U;
  let group: string, direct: string;

  beforeAll(async () => {
    s = await startServer(kind);
    alice = await s.user('Alice');
    bob = await s.user('Bob');
    carol = await s.user('Carol');
    group = (await s.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, bob.id], title: 'Plans' }, alice.token)).body.id;
    direct = (await s.api('POST', '/api/conversations', { kind: 'direct', member_ids: [alice.id, carol.id] }, alice.token)).body.id;
  }, 60_000);
  afterAll(async () => s?.stop());

  const send = async (u: U, conversationId: string, text: string) => {
    const r = await s.api('POST', `/api/conversations/${conversationId}/messages`, { type: 'text', content: { text } }, u.token);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.message as { id: string; seq: number };
  };
  const search = async (u: U, q: string, extra = '') => {
    const r = await s.api('GET', `/api/search/messages?q=${encodeURIComponent(q)}${extra}`, undefined, u.token);
    return r as { status: number; body: { hits: SearchHit[]; next_cursor: string | null; error?: { code: string } } };
  };

  it('finds a marker word in a member\'s conversations, with a highlighted snippet, while the database never holds it in plaintext', async () => {
    const marker = `zephyrmarker${Date.now().toString(36)}`;
    const sent = await send(bob, group, `Before the trip: pack the ${marker.toUpperCase()} kit and the maps, then meet at the station.`);
    const r = await search(alice, marker);
    expect(r.status).toBe(200);
    expect(r.body.hits.map((h) => h.message_id)).toEqual([sent.id]);
    const hit = r.body.hits[0]!;
    expect(hit).toMatchObject({ conversation_id: group, sender_id: bob.id, seq: sent.seq });
    const [start, end] = hit.highlights[0]!;
    expect(hit.snippet.slice(start, end)).toBe(marker.toUpperCase());

    const db = s.warbler.store.roomTables();
    const messages = JSON.stringify(await db.selectFrom('messages').selectAll().execute());
    const terms = JSON.stringify(await db.selectFrom('message_terms').selectAll().execute());
    expect(messages.toLowerCase()).not.toContain(marker);
    expect(terms.toLowerCase()).not.toContain(marker);
    expect(terms).not.toContain(Buffer.from(marker).toString('hex'));
    if (kind === 'sqlite') {
      for (const entry of await readdir(s.warbler.config.dataDir, { withFileTypes: true, recursive: true })) {
        if (!entry.isFile()) continue;
        const bytes = await readFile(path.join(entry.parentPath, entry.name));
        expect(bytes.includes(Buffer.from(marker)), `${entry.name} holds the marker`).toBe(false);
        expect(bytes.includes(Buffer.from(marker.toUpperCase())), `${entry.name} holds the marker`).toBe(false);
      }
    }
  });

  it('finds Chinese by characters, full-width letters as half-width, and only the phrase as typed', async () => {
    const m = await send(alice, group, '明天下午三点在会议室开会，记得带ＬＡＰＴＯＰ。');
    await send(alice, group, '会议和议室不是一回事'); // every pair of 会议室, but not the phrase: found by the index, dropped by the check
    const zh = await search(bob, '会议室');
    expect(zh.body.hits.map((h) => h.message_id)).toEqual([m.id]);
    expect(zh.body.hits[0]!.snippet.slice(...zh.body.hits[0]!.highlights[0]!)).toBe('会议室');
    const single = await search(bob, '开');
    expect(single.body.hits.map((h) => h.message_id)).toContain(m.id);
    const width = await search(bob, 'laptop');
    expect(width.body.hits.map((h) => h.message_id)).toEqual([m.id]);
    const mixed = await search(bob, '会议室 laptop');
    expect(mixed.body.hits.map((h) => h.message_id)).toEqual([m.id]);
  });

  it('never finds messages of conversations the user is not in, nor of another app', async () => {
    const secret = `quartzsecret${Date.now().toString(36)}`;
    await send(alice, direct, `the ${secret} is under the mat`);
    expect((await search(carol, secret)).body.hits).toHaveLength(1);
    expect((await search(bob, secret)).body.hits).toEqual([]);
    const scoped = await search(bob, secret, `&conversation_id=${direct}`);
    expect(scoped.status).toBe(403);
    expect(scoped.body.error?.code).toBe('not_member');
    // Another tenant, same word: its index key differs and its members are other people.
    const other = await s.api('POST', '/admin/apps', { name: 'Other' }, s.masterKey);
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const otherSecret = other.body.secret as string;
    const mallory = await s.api('POST', '/api/users', { id: 'mallory', name: 'Mallory' }, otherSecret);
    const token = (await s.api('POST', `/api/users/${mallory.body.id}/tokens`, {}, otherSecret)).body.token as string;
    const r = await s.api('GET', `/api/search/messages?q=${secret}`, undefined, token);
    expect(r.status).toBe(200);
    expect(r.body.hits).toEqual([]);
    const probe = await s.api('GET', `/api/search/messages?q=${secret}&conversation_id=${direct}`, undefined, token);
    expect(probe.status).toBe(404);
  });

  it('follows edits and recalls, pages newest first, and refuses an empty query', async () => {
    const word = `marmot${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await send(bob, group, `${word} number ${i}`)).id);
    const first = await search(alice, word, '&limit=2');
    expect(first.body.hits.map((h) => h.message_id)).toEqual([ids[4], ids[3]]);
    const second = await search(alice, word, `&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.hits.map((h) => h.message_id)).toEqual([ids[2], ids[1]]);

    const edited = await s.api('PATCH', `/api/messages/${ids[4]}`, { content: { text: 'nothing to see' } }, bob.token);
    expect(edited.status).toBe(200);
    expect((await s.api('POST', `/api/messages/${ids[3]}/recall`, {}, bob.token)).status).toBe(200);
    expect((await search(alice, word)).body.hits.map((h) => h.message_id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await search(alice, 'nothing see')).body.hits.map((h) => h.message_id)).toContain(ids[4]);

    const empty = await search(alice, ' ?! ');
    expect(empty.status).toBe(400);
    expect(empty.body.error?.code).toBe('bad_request');
  });

  it('keeps finding old and new messages after the app\'s data key is rotated (the index key stays)', async () => {
    const before = `ibex${Date.now().toString(36)}`;
    const old = await send(bob, group, `an ${before} before rotation`);
    const rotated = await s.api('POST', '/admin/apps/default/encryption/rotate', undefined, s.masterKey);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(202);
    await s.warbler.atRest.settled(30_000);
    const fresh = await send(bob, group, `an ${before} after rotation`);
    expect((await search(alice, before)).body.hits.map((h) => h.message_id)).toEqual([fresh.id, old.id]);
  });

  it('erasing a user removes their messages from the index', async () => {
    const dave = await s.user('Dave');
    const conv = (await s.api('POST', '/api/conversations', { kind: 'group', member_ids: [alice.id, dave.id] }, alice.token)).body.id;
    const word = `walrus${Date.now().toString(36)}`;
    await send(dave, conv, `my ${word} story`);
    expect((await search(alice, word)).body.hits).toHaveLength(1);
    const erased = await s.api('POST', `/api/privacy/users/${dave.id}/erase`, {});
    expect(erased.status, JSON.stringify(erased.body)).toBeLessThan(300);
    expect((await search(alice, word)).body.hits).toEqual([]);
  });

  it('reactions: everyone in the conversation sees them added and taken back, live and in history', async () => {
    const m = await send(alice, group, 'Lunch at noon?');
    const bobSocket = await TestSocket.open(s.wsUrl, bob.token);
    try {
      const thumbs = encodeURIComponent('👍');
      const added = await s.api('PUT', `/api/messages/${m.id}/reactions/${thumbs}`, undefined, alice.token);
      expect(added.status, JSON.stringify(added.body)).toBe(200);
      expect(added.body.reactions).toEqual([{ emoji: '👍', count: 1, user_ids: [alice.id] }]);
      const pushed = (await bobSocket.next((f) => f.type === 'reaction', 10_000)) as ReactionPushFrame;
      expect(pushed).toMatchObject({ message_id: m.id, conversation_id: group, reactions: [{ emoji: '👍', count: 1, user_ids: [alice.id] }] });

      // Again: no change. Bob adds the same and a family emoji (one grapheme of several code points).
      expect((await s.api('PUT', `/api/messages/${m.id}/reactions/${thumbs}`, undefined, alice.token)).body.reactions[0].count).toBe(1);
      await s.api('PUT', `/api/messages/${m.id}/reactions/${thumbs}`, undefined, bob.token);
      const family = await s.api('PUT', `/api/messages/${m.id}/reactions/${encodeURIComponent('👨‍👩‍👧')}`, undefined, bob.token);
      expect(family.body.reactions).toEqual([{ emoji: '👍', count: 2, user_ids: [alice.id, bob.id] }, { emoji: '👨‍👩‍👧', count: 1, user_ids: [bob.id] }]);

      const history = await s.api('GET', `/api/conversations/${group}/messages?limit=5`, undefined, bob.token);
      const inHistory = (history.body.messages as Array<{ id: string; reactions?: unknown }>).find((x) => x.id === m.id);
      expect(inHistory?.reactions).toEqual(family.body.reactions);

      const removed = await s.api('DELETE', `/api/messages/${m.id}/reactions/${thumbs}`, undefined, alice.token);
      expect(removed.body.reactions[0]).toEqual({ emoji: '👍', count: 1, user_ids: [bob.id] });
      const last = (await bobSocket.next((f) => f.type === 'reaction' && (f as ReactionPushFrame).reactions[0]?.count === 1 && (f as ReactionPushFrame).reactions[0]?.user_ids[0] === bob.id, 10_000));
      expect(last).toBeDefined();

      for (const bad of ['a', '👍👍', 'ab', '%20']) {
        const r = await s.api('PUT', `/api/messages/${m.id}/reactions/${encodeURIComponent(bad)}`, undefined, alice.token);
        expect(r.status, bad).toBe(400);
      }
      // Carol is not in the group.
      const outsider = await s.api('PUT', `/api/messages/${m.id}/reactions/${thumbs}`, undefined, carol.token);
      expect(outsider.status).toBe(403);
      expect(outsider.body.error.code).toBe('not_member');
    } finally {
      await bobSocket.close();
    }
  });

  it('reactions are rate-limited per user with a clear error', async () => {
    const m = await send(alice, group, 'spam me');
    const heart = encodeURIComponent('❤️');
    let refused: { status: number; body: any } | undefined;
    for (let i = 0; i < 70 && !refused; i++) {
      const r = await s.api(i % 2 ? 'DELETE' : 'PUT', `/api/messages/${m.id}/reactions/${heart}`, undefined, bob.token);
      if (r.status !== 200) refused = r;
    }
    expect(refused?.status).toBe(429);
    expect(refused?.body.error.code).toBe('rate_limited');
  });
});
