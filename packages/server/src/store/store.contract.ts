import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '@warbler/protocol';
import { StoreNotFound } from './kysely-store.ts';
import { StoreConflict, type NewMessage, type Store } from './port.ts';
import { describeAiStoreContract } from './store-ai.contract.ts';
import { describeGatewayStoreContract } from './store-gateway.contract.ts';

export interface StoreHarness {
  open(): Promise<Store>;
  /** Runs after the store is closed (delete files, drop the database). */
  cleanup?(): Promise<void>;
}

const T0 = 1_700_000_000_000;

/**
 * The behaviour every Store adapter must have. Each test works in its own
 * fresh app, so one store (one database) serves the whole suite, which is also
 * how tenants share a database in production.
 */
export function describeStoreContract(label: string, harness: StoreHarness, options: { skip?: boolean } = {}): void {
  describe.skipIf(options.skip ?? false)(`Store contract: ${label}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await harness.open();
      await store.migrate();
    });

    afterAll(async () => {
      await store?.close();
      await harness.cleanup?.();
    });

    const uid = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

    async function newApp(id = uid('app')) {
      await store.createApp({ id, name: `App ${id}`, secret_hash: 'hash', created_at: T0, updated_at: T0 });
      return id;
    }

    async function newUser(appId: string, id = uid('usr'), created_at = T0, kind: 'human' | 'agent' = 'human') {
      return store.createUser({ id, app_id: appId, kind, name: id, avatar_url: null, metadata: { tier: 'gold', n: 1 }, created_at });
    }

    async function newGroup(appId: string, userIds: string[], created_at = T0) {
      return store.createConversation(
        { id: uid('cnv'), app_id: appId, kind: 'group', title: 'Group', direct_key: null, created_by: userIds[0] ?? null, created_at },
        userIds.map((user_id, i) => ({ user_id, role: i === 0 ? 'owner' : 'member', joined_at: created_at })),
      );
    }

    function msg(appId: string, conversationId: string, senderId: string, extra: Partial<NewMessage> = {}): NewMessage {
      return {
        id: uid('msg'),
        app_id: appId,
        conversation_id: conversationId,
        sender_id: senderId,
        client_msg_id: uid('c'),
        type: 'text',
        content: { text: 'hello', nested: { a: [1, 2, 3] } },
        state: 'complete',
        created_at: T0 + 1000,
        ...extra,
      };
    }

    async function send(appId: string, conversationId: string, senderId: string, n: number, at = T0 + 1000) {
      const out: Message[] = [];
      for (let i = 0; i < n; i++) {
        out.push((await store.appendMessage(msg(appId, conversationId, senderId, { created_at: at + i }))).message);
      }
      return out;
    }

    describeAiStoreContract(() => store);
    describeGatewayStoreContract(() => store);

    it('migrate is safe to run again', async () => {
      await store.migrate();
      expect(store.dialect).toMatch(/^(sqlite|postgres)$/);
    });

    describe('apps', () => {
      it('creates, reads, lists and rotates the secret', async () => {
        const id = await newApp();
        expect(await store.getApp(id)).toEqual({ id, name: `App ${id}`, secret_hash: 'hash', created_at: T0, updated_at: T0 });
        expect((await store.listApps()).map((a) => a.id)).toContain(id);
        await store.setAppSecret(id, 'new-hash', T0 + 5);
        expect(await store.getApp(id)).toMatchObject({ secret_hash: 'new-hash', updated_at: T0 + 5 });
        expect(await store.getApp(uid('missing'))).toBeUndefined();
      });

      it('refuses a second app with the same id', async () => {
        const id = await newApp();
        await expect(newApp(id)).rejects.toBeInstanceOf(StoreConflict);
      });
    });

    describe('users', () => {
      it('creates a user with token_version 0 and round-trips metadata', async () => {
        const app = await newApp();
        const user = await newUser(app, 'alice');
        expect(user).toEqual({
          id: 'alice',
          app_id: app,
          kind: 'human',
          name: 'alice',
          avatar_url: null,
          metadata: { tier: 'gold', n: 1 },
          created_at: T0,
          token_version: 0,
          updated_at: T0,
        });
        expect(await store.getUser(app, 'alice')).toEqual(user);
      });

      it('user ids are unique per app, not globally', async () => {
        const a = await newApp();
        const b = await newApp();
        await newUser(a, 'bob');
        await expect(newUser(a, 'bob')).rejects.toBeInstanceOf(StoreConflict);
        await expect(newUser(b, 'bob')).resolves.toMatchObject({ id: 'bob', app_id: b });
      });

      it('gets several users at once, ignoring unknown ids', async () => {
        const app = await newApp();
        await newUser(app, 'u1');
        await newUser(app, 'u2');
        const users = await store.getUsers(app, ['u2', 'u1', 'nope', 'u1']);
        expect(users.map((u) => u.id).sort()).toEqual(['u1', 'u2']);
        expect(await store.getUsers(app, [])).toEqual([]);
      });

      it('updates only the fields in the patch', async () => {
        const app = await newApp();
        await newUser(app, 'carol');
        const updated = await store.updateUser(app, 'carol', { avatar_url: 'https://x/y.png', metadata: { a: { b: true } }, updated_at: T0 + 9 });
        expect(updated).toMatchObject({ name: 'carol', avatar_url: 'https://x/y.png', metadata: { a: { b: true } }, updated_at: T0 + 9 });
        expect(await store.updateUser(app, 'carol', { name: 'Carol', updated_at: T0 + 10 })).toMatchObject({
          name: 'Carol',
          avatar_url: 'https://x/y.png',
        });
        expect(await store.updateUser(app, 'ghost', { name: 'x', updated_at: T0 })).toBeUndefined();
      });

      it('bumpTokenVersion increments and returns the new version', async () => {
        const app = await newApp();
        await newUser(app, 'dan');
        expect(await store.bumpTokenVersion(app, 'dan')).toBe(1);
        expect(await store.bumpTokenVersion(app, 'dan')).toBe(2);
        expect((await store.getUser(app, 'dan'))?.token_version).toBe(2);
        expect(await store.bumpTokenVersion(app, 'ghost')).toBeUndefined();
      });

      it('lists users by created_at then id, paging with after, filtering by kind', async () => {
        const app = await newApp();
        // Ties on created_at prove the id tie-break keeps pages from skipping or repeating.
        await newUser(app, 'e', T0 + 2);
        await newUser(app, 'b', T0 + 1);
        await newUser(app, 'c', T0 + 1);
        await newUser(app, 'a', T0 + 3);
        await newUser(app, 'bot', T0 + 1, 'agent');
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listUsers(app, { limit: 2, ...(after !== undefined && { after }) });
          seen.push(...page.map((u) => u.id));
          if (page.length < 2) break;
          after = page[page.length - 1]!.id;
        }
        expect(seen).toEqual(['b', 'bot', 'c', 'e', 'a']);
        expect((await store.listUsers(app, { limit: 10, kind: 'agent' })).map((u) => u.id)).toEqual(['bot']);
        expect((await store.listUsers(app, { limit: 10, kind: 'human', after: 'c' })).map((u) => u.id)).toEqual(['e', 'a']);
      });
    });

    describe('conversations and members', () => {
      it('creates a conversation with its members', async () => {
        const app = await newApp();
        await newUser(app, 'u1');
        await newUser(app, 'u2');
        const c = await newGroup(app, ['u1', 'u2']);
        expect(c).toEqual({
          id: c.id,
          app_id: app,
          kind: 'group',
          title: 'Group',
          last_seq: 0,
          last_message_at: null,
          created_by: 'u1',
          created_at: T0,
          updated_at: T0,
        });
        expect(await store.getConversation(app, c.id)).toEqual(c);
        const members = await store.listMembers(app, c.id);
        expect(members).toEqual([
          { conversation_id: c.id, user_id: 'u1', role: 'owner', read_seq: 0, delivered_seq: 0, muted: false, joined_at: T0 },
          { conversation_id: c.id, user_id: 'u2', role: 'member', read_seq: 0, delivered_seq: 0, muted: false, joined_at: T0 },
        ]);
      });

      it('allows one direct conversation per direct_key, and writes nothing for the second', async () => {
        const app = await newApp();
        await newUser(app, 'u1');
        await newUser(app, 'u2');
        const direct = (id: string) =>
          store.createConversation(
            { id, app_id: app, kind: 'direct', title: null, direct_key: 'u1:u2', created_by: 'u1', created_at: T0 },
            [
              { user_id: 'u1', role: 'member', joined_at: T0 },
              { user_id: 'u2', role: 'member', joined_at: T0 },
            ],
          );
        const first = await direct(uid('cnv'));
        const secondId = uid('cnv');
        await expect(direct(secondId)).rejects.toBeInstanceOf(StoreConflict);
        expect(await store.getConversation(app, secondId)).toBeUndefined();
        expect(await store.listConversationIdsForUser(app, 'u1')).toEqual([first.id]);
        expect(await store.findDirectConversation(app, 'u1:u2')).toEqual(first);
        expect(await store.findDirectConversation(app, 'u1:u3')).toBeUndefined();

        // The same pair in another tenant is a different conversation.
        const other = await newApp();
        await newUser(other, 'u1');
        await newUser(other, 'u2');
        await expect(
          store.createConversation(
            { id: uid('cnv'), app_id: other, kind: 'direct', title: null, direct_key: 'u1:u2', created_by: null, created_at: T0 },
            [],
          ),
        ).resolves.toMatchObject({ app_id: other });
      });

      it('updates the title', async () => {
        const app = await newApp();
        const c = await newGroup(app, []);
        expect(await store.updateConversation(app, c.id, { title: 'Renamed', updated_at: T0 + 1 })).toMatchObject({
          title: 'Renamed',
          updated_at: T0 + 1,
        });
        expect(await store.updateConversation(app, c.id, { updated_at: T0 + 2 })).toMatchObject({ title: 'Renamed', updated_at: T0 + 2 });
        expect(await store.updateConversation(app, c.id, { title: null, updated_at: T0 + 3 })).toMatchObject({ title: null });
        expect(await store.updateConversation(app, uid('cnv'), { title: 'x', updated_at: T0 })).toBeUndefined();
      });

      it('adds only new members, removes and updates them', async () => {
        const app = await newApp();
        for (const u of ['u1', 'u2', 'u3']) await newUser(app, u);
        const c = await newGroup(app, ['u1']);
        const added = await store.addMembers(app, c.id, [
          { user_id: 'u1', role: 'admin', joined_at: T0 + 5 },
          { user_id: 'u2', role: 'member', joined_at: T0 + 5 },
        ]);
        expect(added.map((m) => m.user_id)).toEqual(['u2']);
        expect(await store.getMember(app, c.id, 'u1')).toMatchObject({ role: 'owner', joined_at: T0 });
        expect(await store.addMembers(app, c.id, [])).toEqual([]);
        await expect(store.addMembers(app, c.id, [{ user_id: 'ghost', role: 'member', joined_at: T0 }])).rejects.toBeInstanceOf(StoreNotFound);
        await expect(newUser(uid('no_app'))).rejects.toBeInstanceOf(StoreNotFound);

        expect(await store.updateMember(app, c.id, 'u2', { muted: true })).toMatchObject({ muted: true, role: 'member' });
        expect(await store.updateMember(app, c.id, 'u2', { role: 'admin' })).toMatchObject({ muted: true, role: 'admin' });
        expect(await store.updateMember(app, c.id, 'u2', { muted: false })).toMatchObject({ muted: false });
        expect(await store.updateMember(app, c.id, 'u3', { muted: true })).toBeUndefined();

        expect(await store.removeMember(app, c.id, 'u2')).toBe(true);
        expect(await store.removeMember(app, c.id, 'u2')).toBe(false);
        expect(await store.getMember(app, c.id, 'u2')).toBeUndefined();
        expect((await store.listMembers(app, c.id)).map((m) => m.user_id)).toEqual(['u1']);
        expect(await store.listConversationIdsForUser(app, 'u2')).toEqual([]);
      });

      it('lists a user\'s conversations by last activity, with member row and last message, paged by before', async () => {
        const app = await newApp();
        await newUser(app, 'me');
        await newUser(app, 'you');
        const quiet = await newGroup(app, ['me', 'you'], T0 + 50); // no messages: activity = created_at
        const old = await newGroup(app, ['me', 'you'], T0);
        const busy = await newGroup(app, ['me', 'you'], T0 + 1);
        const notMine = await newGroup(app, ['you'], T0 + 500);
        await store.appendMessage(msg(app, old.id, 'you', { created_at: T0 + 10 }));
        await store.appendMessage(msg(app, busy.id, 'me', { created_at: T0 + 100 }));
        const last = (await store.appendMessage(msg(app, busy.id, 'you', { created_at: T0 + 200, content: { text: 'latest' } }))).message;
        await store.markRead(app, busy.id, 'me', 1);
        await store.updateMember(app, busy.id, 'me', { muted: true });

        const all = await store.listConversationsForUser(app, 'me', { limit: 10 });
        expect(all.map((x) => x.conversation.id)).toEqual([busy.id, quiet.id, old.id]);
        expect(all.map((x) => x.conversation.id)).not.toContain(notMine.id);
        expect(all[0]).toEqual({
          conversation: { ...busy, last_seq: 2, last_message_at: T0 + 200 },
          member: { conversation_id: busy.id, user_id: 'me', role: 'owner', read_seq: 1, delivered_seq: 1, muted: true, joined_at: T0 + 1 },
          last_message: last,
        });
        expect(all[1]?.last_message).toBeNull();

        const first = await store.listConversationsForUser(app, 'me', { limit: 2 });
        expect(first.map((x) => x.conversation.id)).toEqual([busy.id, quiet.id]);
        const next = await store.listConversationsForUser(app, 'me', { limit: 2, before: T0 + 50 });
        expect(next.map((x) => x.conversation.id)).toEqual([old.id]);
        expect(await store.listConversationsForUser(app, 'nobody', { limit: 10 })).toEqual([]);
      });

      it('pages conversations whose activity ties at a page boundary without skipping any', async () => {
        const app = await newApp();
        await newUser(app, 'me');
        // Five conversations created in the same millisecond: one activity time for all.
        const ids = new Set<string>();
        for (let i = 0; i < 5; i++) ids.add((await newGroup(app, ['me'], T0 + 7)).id);
        const seen: string[] = [];
        let cursor: { before: number; beforeId: string } | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listConversationsForUser(app, 'me', { limit: 2, ...cursor });
          seen.push(...page.map((x) => x.conversation.id));
          if (page.length < 2) break;
          const last = page.at(-1)!.conversation;
          cursor = { before: last.last_message_at ?? last.created_at, beforeId: last.id };
        }
        expect(seen).toHaveLength(5);
        expect(new Set(seen)).toEqual(ids);
        expect(seen).toEqual([...ids].sort().reverse());
      });
    });

    describe('appendMessage', () => {
      async function setup() {
        const app = await newApp();
        await newUser(app, 'a');
        await newUser(app, 'b');
        const c = await newGroup(app, ['a', 'b']);
        return { app, c };
      }

      it('assigns dense seqs and stores the message as given', async () => {
        const { app, c } = await setup();
        const input = msg(app, c.id, 'a', { created_at: T0 + 7 });
        const { message, duplicate } = await store.appendMessage(input);
        expect(duplicate).toBe(false);
        expect(message).toEqual({ ...input, seq: 1, updated_at: T0 + 7, edited_at: null });
        expect(await store.getMessage(app, input.id)).toEqual(message);
        const more = await send(app, c.id, 'b', 2);
        expect(more.map((m) => m.seq)).toEqual([2, 3]);
      });

      it('moves last_seq, last_message_at and the sender\'s read and delivered seq', async () => {
        const { app, c } = await setup();
        await store.appendMessage(msg(app, c.id, 'a', { created_at: T0 + 100 }));
        await store.appendMessage(msg(app, c.id, 'b', { created_at: T0 + 200 }));
        expect(await store.getConversation(app, c.id)).toMatchObject({ last_seq: 2, last_message_at: T0 + 200 });
        expect(await store.getMember(app, c.id, 'b')).toMatchObject({ read_seq: 2, delivered_seq: 2 });
        expect(await store.getMember(app, c.id, 'a')).toMatchObject({ read_seq: 1, delivered_seq: 1 });
      });

      it('accepts a sender that is not a member (system messages) without touching members', async () => {
        const { app, c } = await setup();
        const { message } = await store.appendMessage(msg(app, c.id, 'system', { type: 'system', content: { event: 'joined' } }));
        expect(message.seq).toBe(1);
        expect(await store.getMember(app, c.id, 'a')).toMatchObject({ read_seq: 0 });
      });

      it('a resend with the same client_msg_id returns the stored message and writes nothing', async () => {
        const { app, c } = await setup();
        const first = await store.appendMessage(msg(app, c.id, 'a', { client_msg_id: 'retry-1' }));
        const resend = msg(app, c.id, 'a', { client_msg_id: 'retry-1', content: { text: 'different' }, created_at: T0 + 99_999 });
        const again = await store.appendMessage(resend);
        expect(again).toEqual({ message: first.message, duplicate: true });
        expect(await store.getMessage(app, resend.id)).toBeUndefined();
        expect(await store.getConversation(app, c.id)).toMatchObject({ last_seq: 1, last_message_at: first.message.created_at });
        // The seq the rejected attempt took was rolled back: the next message is 2.
        expect((await store.appendMessage(msg(app, c.id, 'b'))).message.seq).toBe(2);
      });

      it('client_msg_id is scoped to the sender; null never deduplicates', async () => {
        const { app, c } = await setup();
        const a = await store.appendMessage(msg(app, c.id, 'a', { client_msg_id: 'same' }));
        const b = await store.appendMessage(msg(app, c.id, 'b', { client_msg_id: 'same' }));
        expect([a.duplicate, b.duplicate]).toEqual([false, false]);
        const n1 = await store.appendMessage(msg(app, c.id, 'a', { client_msg_id: null }));
        const n2 = await store.appendMessage(msg(app, c.id, 'a', { client_msg_id: null }));
        expect([n1.message.seq, n2.message.seq, n2.duplicate]).toEqual([3, 4, false]);
      });

      it('a reused message id is a conflict and does not consume a seq', async () => {
        const { app, c } = await setup();
        const first = await store.appendMessage(msg(app, c.id, 'a'));
        await expect(store.appendMessage(msg(app, c.id, 'a', { id: first.message.id }))).rejects.toBeInstanceOf(StoreConflict);
        expect((await store.getConversation(app, c.id))?.last_seq).toBe(1);
      });

      it('appending to an unknown conversation writes nothing', async () => {
        const { app } = await setup();
        await expect(store.appendMessage(msg(app, uid('cnv'), 'a'))).rejects.toBeInstanceOf(StoreNotFound);
      });

      it('a failing append does not take concurrent ones down with it', async () => {
        const { app, c } = await setup();
        const first = await store.appendMessage(msg(app, c.id, 'a', { client_msg_id: 'dup' }));
        const results = await Promise.allSettled([
          store.appendMessage(msg(app, c.id, 'a')),
          store.appendMessage(msg(app, uid('cnv'), 'a')),
          store.appendMessage(msg(app, c.id, 'a', { id: first.message.id })),
          store.appendMessage(msg(app, c.id, 'a', { client_msg_id: 'dup' })),
          store.appendMessage(msg(app, c.id, 'b')),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
        expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreNotFound);
        expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(StoreConflict);
        expect((results[3] as PromiseFulfilledResult<{ duplicate: boolean }>).value.duplicate).toBe(true);
        const seqs = results.flatMap((r) => (r.status === 'fulfilled' && !r.value.duplicate ? [r.value.message.seq] : []));
        expect(seqs.sort()).toEqual([2, 3]);
        const stored = await store.listMessages(app, c.id, { limit: 10 });
        expect(stored.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
      });

      it('200 concurrent appends get seqs exactly 1..200', async () => {
        const { app, c } = await setup();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store.appendMessage(msg(app, c.id, i % 2 ? 'a' : 'b', { created_at: T0 + i }))),
        );
        const seqs = results.map((r) => r.message.seq).sort((x, y) => x - y);
        expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(results.every((r) => !r.duplicate)).toBe(true);
        const stored = await store.listMessages(app, c.id, { after: 0, limit: 500 });
        expect(stored.messages.map((m) => m.seq)).toEqual(seqs);
        expect((await store.getConversation(app, c.id))?.last_seq).toBe(200);
      });

      it('appends complete in call order: pushes rely on it', async () => {
        const { app, c } = await setup();
        const d = await newGroup(app, ['a']);
        const completed: string[] = [];
        const sends = Array.from({ length: 60 }, (_, i) =>
          store.appendMessage(msg(app, i % 3 ? c.id : d.id, 'a', { created_at: T0 + i })).then((r) => {
            completed.push(`${r.message.conversation_id}:${r.message.seq}`);
            return r;
          }),
        );
        const results = await Promise.all(sends);
        expect(completed).toEqual(results.map((r) => `${r.message.conversation_id}:${r.message.seq}`));
        const seqsOf = (id: string) => results.filter((r) => r.message.conversation_id === id).map((r) => r.message.seq);
        expect(seqsOf(c.id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        expect(seqsOf(d.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });

      it('concurrent resends of one client_msg_id store it once', async () => {
        const { app, c } = await setup();
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.appendMessage(msg(app, c.id, 'a', { client_msg_id: 'burst' }))),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
        expect(results.every((r) => r.message.seq === 1)).toBe(true);
        expect((await store.getConversation(app, c.id))?.last_seq).toBe(1);
        expect((await store.listMessages(app, c.id, { limit: 50 })).messages).toHaveLength(1);
      });
    });

    describe('read and delivered receipts', () => {
      it('move forward only, never past last_seq; read lifts delivered', async () => {
        const app = await newApp();
        await newUser(app, 'a');
        await newUser(app, 'b');
        const c = await newGroup(app, ['a', 'b']);
        await send(app, c.id, 'a', 5);

        expect(await store.markDelivered(app, c.id, 'b', 2)).toMatchObject({ read_seq: 0, delivered_seq: 2 });
        expect(await store.markRead(app, c.id, 'b', 3)).toMatchObject({ read_seq: 3, delivered_seq: 3 });
        expect(await store.markRead(app, c.id, 'b', 1)).toMatchObject({ read_seq: 3, delivered_seq: 3 });
        expect(await store.markDelivered(app, c.id, 'b', 1)).toMatchObject({ read_seq: 3, delivered_seq: 3 });
        expect(await store.markDelivered(app, c.id, 'b', 4)).toMatchObject({ read_seq: 3, delivered_seq: 4 });
        expect(await store.markRead(app, c.id, 'b', 99)).toMatchObject({ read_seq: 5, delivered_seq: 5 });
        expect(await store.markDelivered(app, c.id, 'b', 1000)).toMatchObject({ delivered_seq: 5 });
        expect(await store.getMember(app, c.id, 'b')).toMatchObject({ read_seq: 5, delivered_seq: 5 });
        expect(await store.markRead(app, c.id, 'stranger', 1)).toBeUndefined();
        expect(await store.markDelivered(app, c.id, 'stranger', 1)).toBeUndefined();
      });

      it('in an empty conversation stay at 0', async () => {
        const app = await newApp();
        await newUser(app, 'a');
        const c = await newGroup(app, ['a']);
        expect(await store.markRead(app, c.id, 'a', 10)).toMatchObject({ read_seq: 0, delivered_seq: 0 });
      });
    });

    describe('listMessages', () => {
      let app: string;
      let conversationId: string;
      beforeAll(async () => {
        app = await newApp();
        await newUser(app, 'a');
        conversationId = (await newGroup(app, ['a'])).id;
        await send(app, conversationId, 'a', 10);
      });
      const seqs = (r: { messages: Message[] }) => r.messages.map((m) => m.seq);

      it('with neither bound: the newest `limit`, oldest first, has_more = older exist', async () => {
        const r = await store.listMessages(app, conversationId, { limit: 3 });
        expect([seqs(r), r.has_more]).toEqual([[8, 9, 10], true]);
        const all = await store.listMessages(app, conversationId, { limit: 10 });
        expect([seqs(all), all.has_more]).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], false]);
      });

      it('before: the newest `limit` below it, has_more = older exist', async () => {
        const r = await store.listMessages(app, conversationId, { before: 8, limit: 3 });
        expect([seqs(r), r.has_more]).toEqual([[5, 6, 7], true]);
        const end = await store.listMessages(app, conversationId, { before: 4, limit: 3 });
        expect([seqs(end), end.has_more]).toEqual([[1, 2, 3], false]);
        const none = await store.listMessages(app, conversationId, { before: 1, limit: 3 });
        expect([seqs(none), none.has_more]).toEqual([[], false]);
      });

      it('after: ascending from it, has_more = newer exist', async () => {
        const r = await store.listMessages(app, conversationId, { after: 2, limit: 3 });
        expect([seqs(r), r.has_more]).toEqual([[3, 4, 5], true]);
        const end = await store.listMessages(app, conversationId, { after: 7, limit: 3 });
        expect([seqs(end), end.has_more]).toEqual([[8, 9, 10], false]);
        const none = await store.listMessages(app, conversationId, { after: 10, limit: 3 });
        expect([seqs(none), none.has_more]).toEqual([[], false]);
      });

      it('after and before together: the range between, ascending from after', async () => {
        const r = await store.listMessages(app, conversationId, { after: 2, before: 6, limit: 2 });
        expect([seqs(r), r.has_more]).toEqual([[3, 4], true]);
        const rest = await store.listMessages(app, conversationId, { after: 4, before: 6, limit: 2 });
        expect([seqs(rest), rest.has_more]).toEqual([[5], false]);
      });
    });

    describe('updates', () => {
      it('updateMessage patches content, state and edited_at', async () => {
        const app = await newApp();
        await newUser(app, 'bot', T0, 'agent');
        const c = await newGroup(app, ['bot']);
        const { message } = await store.appendMessage(msg(app, c.id, 'bot', { state: 'streaming', content: { text: '…' } }));
        const done = await store.updateMessage(app, message.id, { content: { text: 'Full answer', usage: { tokens: 12 } }, state: 'complete', updated_at: T0 + 5000 });
        expect(done).toEqual({ ...message, content: { text: 'Full answer', usage: { tokens: 12 } }, state: 'complete', updated_at: T0 + 5000 });
        const edited = await store.updateMessage(app, message.id, { edited_at: T0 + 6000, updated_at: T0 + 6000 });
        expect(edited).toMatchObject({ content: { text: 'Full answer', usage: { tokens: 12 } }, edited_at: T0 + 6000 });
        expect(await store.updateMessage(app, uid('msg'), { state: 'failed', updated_at: T0 })).toBeUndefined();
      });

      it('listMessagesUpdatedSince returns messages created before and updated after `since`, oldest update first', async () => {
        const app = await newApp();
        await newUser(app, 'a');
        const c1 = await newGroup(app, ['a']);
        const c2 = await newGroup(app, ['a']);
        const c3 = await newGroup(app, ['a']);
        const [m1, m2, m3] = await send(app, c1.id, 'a', 3, T0 + 100);
        const [n1] = await send(app, c2.id, 'a', 1, T0 + 100);
        const [o1] = await send(app, c3.id, 'a', 1, T0 + 100);
        const since = T0 + 1000;
        await store.updateMessage(app, m2!.id, { state: 'recalled', updated_at: since + 30 });
        await store.updateMessage(app, n1!.id, { content: { text: 'edited' }, edited_at: since + 10, updated_at: since + 10 });
        await store.updateMessage(app, m1!.id, { content: { text: 'old edit' }, updated_at: since - 1 });
        await store.updateMessage(app, o1!.id, { content: { text: 'not asked for' }, updated_at: since + 5 });
        // Created after `since`: the client gets it by seq, not as an update.
        await store.appendMessage(msg(app, c1.id, 'a', { created_at: since + 1 }));
        expect(m3).toBeDefined();

        const ids = [c1.id, c2.id, ...Array.from({ length: 600 }, () => uid('cnv'))];
        const updated = await store.listMessagesUpdatedSince(app, ids, since, 10);
        expect(updated.map((m) => [m.id, m.updated_at])).toEqual([
          [n1!.id, since + 10],
          [m2!.id, since + 30],
        ]);
        expect(updated[0]?.content).toEqual({ text: 'edited' });
        expect(await store.listMessagesUpdatedSince(app, ids, since, 1)).toHaveLength(1);
        expect(await store.listMessagesUpdatedSince(app, [], since, 10)).toEqual([]);
      });
    });

    describe('files', () => {
      it('creates and reads file records; ids are unique per app', async () => {
        const app = await newApp();
        await newUser(app, 'a');
        const c = await newGroup(app, ['a']);
        const file = { id: uid('fil'), app_id: app, conversation_id: c.id, uploader_id: 'a', name: 'cat.png', mime: 'image/png', size: 123_456, created_at: T0, path: 'ab/cd/file' };
        await store.createFile(file);
        expect(await store.getFile(app, file.id)).toEqual(file);
        await expect(store.createFile(file)).rejects.toBeInstanceOf(StoreConflict);
        expect(await store.getFile(app, uid('fil'))).toBeUndefined();
      });
    });

    describe('tenant isolation', () => {
      it('app B cannot read or change app A\'s rows by id', async () => {
        const a = await newApp();
        const b = await newApp();
        await newUser(a, 'alice');
        await newUser(a, 'bob');
        await newUser(b, 'alice'); // same user id, different tenant
        const conv = await newGroup(a, ['alice', 'bob']);
        const { message } = await store.appendMessage(msg(a, conv.id, 'alice', { client_msg_id: 'cm-1' }));
        const file = { id: uid('fil'), app_id: a, conversation_id: conv.id, uploader_id: 'alice', name: 'f', mime: 'text/plain', size: 1, created_at: T0, path: 'p' };
        await store.createFile(file);

        expect(await store.getUser(b, 'bob')).toBeUndefined();
        expect(await store.getUsers(b, ['alice', 'bob'])).toEqual([expect.objectContaining({ app_id: b, id: 'alice' })]);
        expect(await store.listUsers(b, { limit: 10 })).toHaveLength(1);
        expect(await store.getConversation(b, conv.id)).toBeUndefined();
        expect(await store.getMember(b, conv.id, 'alice')).toBeUndefined();
        expect(await store.listMembers(b, conv.id)).toEqual([]);
        expect(await store.listConversationsForUser(b, 'alice', { limit: 10 })).toEqual([]);
        expect(await store.listConversationIdsForUser(b, 'alice')).toEqual([]);
        expect(await store.getMessage(b, message.id)).toBeUndefined();
        expect(await store.listMessages(b, conv.id, { limit: 10 })).toEqual({ messages: [], has_more: false });
        expect(await store.listMessagesUpdatedSince(b, [conv.id], 0, 10)).toEqual([]);
        expect(await store.getFile(b, file.id)).toBeUndefined();

        expect(await store.updateConversation(b, conv.id, { title: 'hijack', updated_at: T0 })).toBeUndefined();
        expect(await store.updateMessage(b, message.id, { state: 'recalled', updated_at: T0 })).toBeUndefined();
        expect(await store.markRead(b, conv.id, 'alice', 1)).toBeUndefined();
        expect(await store.removeMember(b, conv.id, 'bob')).toBe(false);
        expect(await store.bumpTokenVersion(b, 'bob')).toBeUndefined();
        await expect(store.appendMessage(msg(b, conv.id, 'alice'))).rejects.toBeInstanceOf(StoreNotFound);
        await expect(store.addMembers(b, conv.id, [{ user_id: 'alice', role: 'member', joined_at: T0 }])).rejects.toBeInstanceOf(StoreNotFound);
        await expect(store.createFile({ ...file, id: uid('fil'), app_id: b })).rejects.toBeInstanceOf(StoreNotFound);
        // The same client_msg_id from a same-named user in another app is not a duplicate.
        const bConv = await newGroup(b, ['alice']);
        expect((await store.appendMessage(msg(b, bConv.id, 'alice', { client_msg_id: 'cm-1' }))).duplicate).toBe(false);

        expect(await store.getConversation(a, conv.id)).toMatchObject({ title: 'Group', last_seq: 1 });
        expect(await store.getMessage(a, message.id)).toEqual(message);
        expect(await store.listMembers(a, conv.id)).toHaveLength(2);
      });
    });
  });
}
