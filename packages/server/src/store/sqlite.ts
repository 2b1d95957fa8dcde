import Sqlite from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import {
  CompiledQuery,
  Kysely,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import { KyselyStore, type DialectTraits, type StoredAppend, type SyncAppendWriter } from './kysely-store.ts';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.ts';
import { StoreNotFound, type Store } from './port.ts';
import type { Database } from './schema.ts';

const traits: DialectTraits = {
  name: 'sqlite',
  isUniqueViolation: (error) => {
    const code = (error as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  isForeignKeyViolation: (error) => (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  bool: (value) => (value ? 1 : 0),
  greatest: 'max',
  least: 'min',
};

/** Opens (creating if needed) the embedded database file. Call migrate() before use. */
export function openSqliteStore(path: string): Store {
  ownerOnly(path);
  const db = new Sqlite(path);
  // WAL lets readers run beside the writer; NORMAL skips the fsync per commit
  // (durable across process crashes; a power cut may lose the last commits).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Another process (a CLI, a backup) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  // Checkpoints run on a worker thread, not inside a commit on the event loop (sqlite-checkpointer.ts).
  let checkpointer: Checkpointer | undefined;
  if (!db.memory) {
    db.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(path, (message) => process.emitWarning(`SQLite checkpoint failed: ${message}`, 'WarblerStoreWarning'));
  }
  const kysely = new Kysely<Database>({ dialect: new QueuedSqliteDialect(db, () => checkpointer?.stop()) });
  return new KyselyStore(kysely, { ...traits, appendBatchSync: syncAppender(db) });
}

/**
 * The database holds every message: owner-only (0600). SQLite gives the -wal
 * and -shm files the mode of the database file, so creating that one 0600
 * (and fixing an older 0644 one, with its companions) covers all three.
 */
function ownerOnly(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/**
 * The send path's writes as plain prepared statements: the seq bump, the
 * insert and the sender's cursors, each message in a savepoint (better-sqlite3
 * nests transactions that way) so a duplicate undoes only itself, the batch
 * in one transaction and one synchronous call.
 */
function syncAppender(db: Sqlite.Database): SyncAppendWriter['appendBatchSync'] {
  let statements: { bump: Sqlite.Statement; insert: Sqlite.Statement; cursors: Sqlite.Statement } | undefined;
  // Prepared on first use: the tables exist only after migrate().
  const prepared = () =>
    (statements ??= {
      bump: db.prepare('update conversations set last_seq = last_seq + 1, last_message_at = ? where app_id = ? and id = ? returning last_seq'),
      insert: db.prepare(
        'insert into messages (app_id, id, conversation_id, seq, sender_id, client_msg_id, type, content, state, created_at, updated_at, edited_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)',
      ),
      cursors: db.prepare('update members set read_seq = ?, delivered_seq = ? where app_id = ? and conversation_id = ? and user_id = ?'),
    });
  const one = db.transaction((m: StoredAppend): number => {
    const { bump, insert, cursors } = prepared();
    const row = bump.get(m.created_at, m.app_id, m.conversation_id) as { last_seq: number } | undefined;
    if (!row) throw new StoreNotFound(`Conversation ${m.conversation_id} does not exist`);
    insert.run(m.app_id, m.id, m.conversation_id, row.last_seq, m.sender_id, m.client_msg_id, m.type, m.stored_content, m.state, m.created_at, m.created_at);
    // seq is the conversation's new maximum inside this transaction, so plain assignment never moves a cursor back.
    cursors.run(row.last_seq, row.last_seq, m.app_id, m.conversation_id, m.sender_id);
    return row.last_seq;
  });
  const all = db.transaction((batch: readonly StoredAppend[]) =>
    batch.map((m) => {
      try {
        return { ok: true as const, seq: one(m) };
      } catch (error) {
        return { ok: false as const, error };
      }
    }),
  );
  return (batch) => all(batch);
}

/** Kysely's SQLite dialect with the driver below in place of its own. */
class QueuedSqliteDialect extends SqliteDialect {
  constructor(
    private readonly db: Sqlite.Database,
    private readonly afterClose: () => Promise<void> | undefined,
  ) {
    super({ database: db });
  }

  override createDriver(): Driver {
    return new QueuedSqliteDriver(this.db, this.afterClose);
  }
}

/**
 * Kysely's stock SQLite driver differs from this one in two ways that matter
 * on the send path:
 * - Its connection mutex wakes every waiter on each release (they all re-check
 *   and all but one go back to sleep), so N queued transactions cost O(N²):
 *   10,000 concurrent sends dropped to a few hundred per second. This driver
 *   hands the one connection to waiters in FIFO order, O(1) per handoff.
 * - It re-prepares every statement; this one keeps prepared statements, since
 *   the hot path runs the same few SQL strings over and over.
 */
class QueuedSqliteDriver implements Driver {
  readonly #connection: CachedSqliteConnection;
  readonly #waiters: Array<(connection: DatabaseConnection) => void> = [];
  #busy = false;

  constructor(
    private readonly db: Sqlite.Database,
    private readonly afterClose: () => Promise<void> | undefined,
  ) {
    this.#connection = new CachedSqliteConnection(db);
  }

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve(this.#connection);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async releaseConnection(): Promise<void> {
    const next = this.#waiters.shift();
    if (next) next(this.#connection);
    else this.#busy = false;
  }

  // IMMEDIATE takes the write lock up front, so a transaction that reads
  // before it writes cannot deadlock with another process's writer.
  async beginTransaction(): Promise<void> {
    this.#connection.exec('begin immediate');
  }

  async commitTransaction(): Promise<void> {
    this.#connection.exec('commit');
  }

  async rollbackTransaction(): Promise<void> {
    this.#connection.exec('rollback');
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`savepoint ${quoteIdentifier(name)}`);
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`rollback to ${quoteIdentifier(name)}`);
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`release ${quoteIdentifier(name)}`);
  }

  async destroy(): Promise<void> {
    this.db.close();
    await this.afterClose();
  }
}

class CachedSqliteConnection implements DatabaseConnection {
  // Bounded because IN lists of varying length keep producing new SQL.
  readonly #statements = new Map<string, Sqlite.Statement>();

  constructor(private readonly db: Sqlite.Database) {}

  exec(sql: string): void {
    this.#prepare(sql).run();
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(query.sql);
    const parameters = query.parameters as unknown[];
    if (statement.reader) return Promise.resolve({ rows: statement.all(parameters) as R[] });
    const { changes, lastInsertRowid } = statement.run(parameters);
    return Promise.resolve({ numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] });
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    for (const row of this.#prepare(query.sql).iterate(query.parameters as unknown[])) yield { rows: [row as R] };
  }

  #prepare(sql: string): Sqlite.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.#statements.size >= 500) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
