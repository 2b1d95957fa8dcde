import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAdminUrl } from '../../test/postgres.ts';
import { openPostgresStore, openStore, type NewMessage, type Store } from './index.ts';
import { KyselyStore } from './kysely-store.ts';
import { openPostgresPool, postgresTraits } from './postgres.ts';
import type { Database } from './schema.ts';
import { describeStoreContract } from './store.contract.ts';

const skip = !postgresAdminUrl();
let drop: (() => Promise<void>) | undefined;

describeStoreContract(
  'postgres',
  {
    open: async () => {
      const db = await createTestDatabase();
      drop = db.drop;
      return openPostgresStore(db.url);
    },
    cleanup: async () => drop?.(),
  },
  { skip },
);

/** Migrates, then adds app 'app', users 'u' and 'v', and a group per id with both in it ('u' owns it). */
async function seed(store: Store, conversations: string[], now = Date.now()): Promise<void> {
  await store.migrate();
  await store.createApp({ id: 'app', name: 'A', secret_hash: 'h', created_at: now, updated_at: now });
  for (const id of ['u', 'v']) await store.createUser({ id, app_id: 'app', kind: 'human', name: id, avatar_url: null, metadata: {}, created_at: now });
  for (const id of conversations) {
    await store.createConversation({ id, app_id: 'app', kind: 'group', title: null, direct_key: null, created_by: 'u', created_at: now }, [
      { user_id: 'u', role: 'owner', joined_at: now },
      { user_id: 'v', role: 'member', joined_at: now },
    ]);
  }
}

describe.skipIf(skip)('Postgres store across nodes', () => {
  it('openStore picks Postgres for a postgres:// URL, and two nodes can migrate at once', async () => {
    const db = await createTestDatabase();
    const a = openStore({ databaseUrl: db.url, dataDir: '/nonexistent' });
    const b = openStore({ databaseUrl: db.url.replace(/^postgres:/, 'postgresql:'), dataDir: '/nonexistent' });
    try {
      expect(a.dialect).toBe('postgres');
      await Promise.all([a.migrate(), b.migrate()]);
      await a.createApp({ id: 'app', name: 'A', secret_hash: 'h', created_at: 1, updated_at: 2 });
      expect(await b.getApp('app')).toEqual({ id: 'app', name: 'A', secret_hash: 'h', created_at: 1, updated_at: 2 });
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });

  it('two nodes appending to one conversation still get dense seqs', async () => {
    const db = await createTestDatabase();
    const a = openPostgresStore(db.url);
    const b = openPostgresStore(db.url);
    try {
      const now = Date.now();
      await seed(a, ['c'], now);
      const send = (node: typeof a, i: number) =>
        node.appendMessage({
          id: `m${i}_${randomBytes(3).toString('hex')}`,
          app_id: 'app',
          conversation_id: 'c',
          sender_id: 'u',
          client_msg_id: `c${i}`,
          type: 'text',
          content: { text: String(i) },
          state: 'complete',
          created_at: now + i,
        });
      const results = await Promise.all(Array.from({ length: 150 }, (_, i) => send(i % 2 ? a : b, i)));
      const seqs = results.map((r) => r.message.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
      expect(typeof results[0]?.message.created_at).toBe('number');
      expect(await b.getMember('app', 'c', 'u')).toMatchObject({ read_seq: 150, delivered_seq: 150 });
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});

describe.skipIf(skip)('Postgres group commit', () => {
  const now = Date.now();
  const message = (conversation: string, i: number, extra: Partial<NewMessage> = {}): NewMessage => ({
    id: `m_${randomBytes(6).toString('hex')}`,
    app_id: 'app',
    conversation_id: conversation,
    sender_id: i % 2 ? 'u' : 'v',
    client_msg_id: `c${conversation}${i}`,
    type: 'text',
    content: { text: `"${i}", {braces} \\ and 中文` },
    state: 'complete',
    created_at: now + i,
    ...extra,
  });

  /** A store whose batch statement is watched: how many ran, how big, and whether any threw (and fell back to one by one). */
  function watchedStore(url: string) {
    const pool = openPostgresPool(url, 5);
    const traits = postgresTraits(pool);
    const batches: number[] = [];
    let failures = 0;
    const store = new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), {
      ...traits,
      appendBatchStatement: async (batch) => {
        batches.push(batch.length);
        try {
          return await traits.appendBatchStatement!(batch);
        } catch (error) {
          failures++;
          throw error;
        }
      },
    });
    return { store, batches, failures: () => failures };
  }

  it('writes concurrent appends to several conversations in a few statements, with dense seqs and the text intact', async () => {
    const db = await createTestDatabase();
    const { store, batches, failures } = watchedStore(db.url);
    try {
      await seed(store, ['c1', 'c2', 'c3'], now);
      const sent = Array.from({ length: 150 }, (_, i) => message(`c${(i % 3) + 1}`, i));
      const results = await Promise.all(sent.map((m) => store.appendMessage(m)));
      expect(failures()).toBe(0);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(150);
      expect(batches.length).toBeLessThan(20);
      for (const c of ['c1', 'c2', 'c3']) {
        const mine = results.filter((r) => r.message.conversation_id === c);
        expect(mine.map((r) => r.message.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        const stored = await store.listMessages('app', c, { after: 0, limit: 100 });
        expect(stored.messages.map((m) => [m.seq, m.id, m.content])).toEqual(mine.map((r) => [r.message.seq, r.message.id, r.message.content]));
        const conversation = await store.getConversation('app', c);
        expect(conversation).toMatchObject({ last_seq: 50, last_message_at: Math.max(...mine.map((r) => r.message.created_at)) });
        // Each sender has read up to their own last message.
        for (const user of ['u', 'v']) {
          const last = Math.max(...mine.filter((r) => r.message.sender_id === user).map((r) => r.message.seq));
          expect(await store.getMember('app', c, user)).toMatchObject({ read_seq: last, delivered_seq: last });
        }
      }
      expect(results[0]!.message.content).toEqual({ text: '"0", {braces} \\ and 中文' });
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('in one batch, leaves out resends and unknown conversations without taking a seq', async () => {
    const db = await createTestDatabase();
    const { store, batches, failures } = watchedStore(db.url);
    try {
      await seed(store, ['c1'], now);
      const first = await store.appendMessage(message('c1', 1));
      const results = await Promise.allSettled([
        store.appendMessage(message('c1', 2)),
        store.appendMessage(message('c1', 1)), // a resend of the stored one
        store.appendMessage(message('nope', 3)),
        store.appendMessage(message('c1', 4)),
        store.appendMessage(message('c1', 4)), // the same send twice in one batch
      ]);
      expect(failures()).toBe(0);
      expect(batches).toEqual([1, 4]);
      const value = (i: number) => (results[i] as PromiseFulfilledResult<{ message: { seq: number; id: string }; duplicate: boolean }>).value;
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[2] as PromiseRejectedResult).reason.name).toBe('StoreNotFound');
      expect([value(0).message.seq, value(0).duplicate]).toEqual([2, false]);
      expect([value(1).message.id, value(1).duplicate]).toEqual([first.message.id, true]);
      expect([value(3).message.seq, value(3).duplicate]).toEqual([3, false]);
      expect([value(4).message.id, value(4).duplicate]).toEqual([value(3).message.id, true]);
      expect((await store.getConversation('app', 'c1'))?.last_seq).toBe(3);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('two nodes writing batches over the same conversations, in opposite orders, keep seqs dense and never fail a batch', async () => {
    const db = await createTestDatabase();
    const a = watchedStore(db.url);
    const b = watchedStore(db.url);
    const conversations = Array.from({ length: 8 }, (_, i) => `k${i}`);
    try {
      await seed(a.store, conversations, now);
      const sends: Promise<unknown>[] = [];
      for (let round = 0; round < 25; round++) {
        conversations.forEach((c, i) => sends.push(a.store.appendMessage(message(c, round * 100 + i))));
        [...conversations].reverse().forEach((c, i) => sends.push(b.store.appendMessage(message(c, round * 100 + 50 + i))));
      }
      await Promise.all(sends);
      expect(a.failures() + b.failures()).toBe(0);
      for (const c of conversations) {
        const stored = await b.store.listMessages('app', c, { after: 0, limit: 100 });
        expect(stored.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      }
    } finally {
      await a.store.close();
      await b.store.close();
      await db.drop();
    }
  });
});
