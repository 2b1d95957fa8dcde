import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAdminUrl } from '../../test/postgres.ts';
import { openPostgresStore, openStore } from './index.ts';
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
      await a.migrate();
      const now = Date.now();
      await a.createApp({ id: 'app', name: 'A', secret_hash: 'h', created_at: now, updated_at: now });
      await a.createUser({ id: 'u', app_id: 'app', kind: 'human', name: 'u', avatar_url: null, metadata: {}, created_at: now });
      await a.createConversation(
        { id: 'c', app_id: 'app', kind: 'group', title: null, direct_key: null, created_by: 'u', created_at: now },
        [{ user_id: 'u', role: 'owner', joined_at: now }],
      );
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
