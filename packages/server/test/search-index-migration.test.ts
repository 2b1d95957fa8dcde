// Migration 0027 rebuilds the blind index's table in fewer B-trees (issue 14).
// A database indexed before it must keep every term row: a user still finds
// their old messages, and an edit or an erased conversation still takes the
// old rows away, on SQLite and PostgreSQL.
import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageTermsStore } from '../src/search/index.ts';
import { migrations, runMigrations } from '../src/store/migrations.ts';
import { storeKinds } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

describe.each(storeKinds())('message_terms carried over by migration 0027 on %s', (kind) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function open(): Promise<Kysely<any>> {
    if (kind === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'warbler-terms-0027-'));
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Sqlite(join(dir, 'w.db')) }) });
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.destroy());
      return db;
    }
    const database = await createTestDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) });
    cleanups.push(() => database.drop(), () => db.destroy());
    return db;
  }

  it('keeps old rows findable, and edits and erasures still remove them', async () => {
    const db = await open();
    const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0027'));
    const { error } = await new Migrator({
      db, provider: { getMigrations: async () => before }, migrationTableName: 'warbler_migrations',
      migrationLockTableName: 'warbler_migrations_lock', allowUnorderedMigrations: true,
    }).migrateToLatest();
    expect(error).toBeUndefined();
    const old = (m: string, c: string, terms: string[]) => terms.map((term) => ({ app_id: 'app', term, message_id: m, conversation_id: c }));
    await db.insertInto('message_terms').values([...old('m1', 'c1', ['apple', 'pear']), ...old('m2', 'c1', ['apple']), ...old('m3', 'c2', ['apple', 'plum'])]).execute();

    await runMigrations(db);
    const store = new MessageTermsStore(db);
    const find = (terms: string[], conversationId: string) => store.find('app', terms, { conversationId }, { limit: 10 });
    expect(await find(['apple'], 'c1')).toEqual([{ message_id: 'm2', conversation_id: 'c1' }, { message_id: 'm1', conversation_id: 'c1' }]);
    expect(await find(['apple', 'pear'], 'c1')).toEqual([{ message_id: 'm1', conversation_id: 'c1' }]);
    expect(await find(['plum'], 'c2')).toEqual([{ message_id: 'm3', conversation_id: 'c2' }]);

    // An edit replaces an old message's rows, a recall removes them; a second identical row is still refused.
    await store.replace('app', 'm1', 'c1', ['quince', 'quince']);
    await store.remove('app', 'm2', 'c1');
    expect(await find(['apple'], 'c1')).toEqual([]);
    expect(await find(['quince'], 'c1')).toEqual([{ message_id: 'm1', conversation_id: 'c1' }]);
    // Erasing a conversation (privacy room) deletes its rows by the new index's leading columns.
    await db.deleteFrom('message_terms').where('app_id', '=', 'app').where('conversation_id', 'in', ['c2']).execute();
    expect(await find(['plum'], 'c2')).toEqual([]);
    expect(await db.selectFrom('message_terms').select(['message_id', 'term']).execute()).toEqual([{ message_id: 'm1', term: 'quince' }]);
  });
});
