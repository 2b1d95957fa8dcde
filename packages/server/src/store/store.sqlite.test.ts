import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore, openStore } from './index.ts';
import { describeStoreContract } from './store.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'warbler-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A real file, not :memory:, so WAL and the pragmas are what production runs.
describeStoreContract('sqlite', { open: async () => openSqliteStore(join(dir, 'contract.db')) });

describe('SQLite store', () => {
  it('openStore without a database URL creates dataDir/warbler.db in WAL mode', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const store = openStore({ dataDir });
    await store.migrate();
    await store.migrate();
    expect(store.dialect).toBe('sqlite');
    await store.close();
    const raw = new Sqlite(join(dataDir, 'warbler.db'), { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = raw.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all();
      expect(tables).toEqual(expect.arrayContaining([
        'apps', 'users', 'conversations', 'members', 'messages', 'files',
        'agents', 'agent_memory', 'knowledge_bases', 'kb_documents', 'kb_chunks', 'ledger',
        'api_keys', 'gateway_files', 'batches', 'batch_items',
        'warbler_migrations',
      ]));
    } finally {
      raw.close();
    }
  });

  /** A migrated store at `path` with app 'app' and an empty group conversation 'c'. */
  async function openWithConversation(path: string) {
    const store = openSqliteStore(path);
    await store.migrate();
    await store.createApp({ id: 'app', name: 'A', secret_hash: 'h', created_at: 1, updated_at: 1 });
    await store.createConversation({ id: 'c', app_id: 'app', kind: 'group', title: null, direct_key: null, created_by: null, created_at: 1 }, []);
    return store;
  }

  it('openStore rejects a database URL it does not understand', () => {
    expect(() => openStore({ databaseUrl: 'mysql://x/y', dataDir: dir })).toThrow(/postgres:\/\//);
  });

  it('close() writes appends that were accepted but not yet committed', async () => {
    const path = join(dir, 'close.db');
    const store = await openWithConversation(path);
    const pending = store.appendMessage({
      id: 'm', app_id: 'app', conversation_id: 'c', sender_id: 's', client_msg_id: null, type: 'text', content: { text: 'x' }, state: 'complete', created_at: 2,
    });
    await store.close();
    await expect(pending).resolves.toMatchObject({ message: { seq: 1 } });
    const reopened = openSqliteStore(path);
    expect(await reopened.getMessage('app', 'm')).toMatchObject({ seq: 1, content: { text: 'x' } });
    await reopened.close();
  });

  it('keeps data across reopen', async () => {
    const path = join(dir, 'reopen.db');
    const first = openSqliteStore(path);
    await first.migrate();
    await first.createApp({ id: 'app', name: 'A', secret_hash: 'h', created_at: 1, updated_at: 1 });
    await first.close();
    const second = openSqliteStore(path);
    await second.migrate();
    expect(await second.getApp('app')).toMatchObject({ name: 'A' });
    await second.close();
  });

  it('checkpoints the WAL on its worker while the store writes, and leaves it empty at close', async () => {
    const path = join(dir, 'checkpoint.db');
    const store = await openWithConversation(path);
    const sizeBefore = statSync(path).size;
    const text = 'x'.repeat(2000);
    for (let i = 0; i < 300; i++) {
      await store.appendMessage({ id: `m${i}`, app_id: 'app', conversation_id: 'c', sender_id: 's', client_msg_id: null, type: 'text', content: { text }, state: 'complete', created_at: 2 + i });
    }
    // The main connection never checkpoints (no commit waits for one), yet the pages reach the database file.
    await expect.poll(() => statSync(path).size, { timeout: 5_000, interval: 50 }).toBeGreaterThan(sizeBefore + 300 * 2000);
    await store.close();
    expect(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    const raw = new Sqlite(path, { readonly: true });
    try {
      expect(raw.prepare('select count(*) from messages').pluck().get()).toBe(300);
    } finally {
      raw.close();
    }
  });
});
