import Sqlite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import { KyselyStore, type DialectTraits } from './kysely-store.ts';
import type { Store } from './port.ts';
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
  groupCommit: true,
};

/** Opens (creating if needed) the embedded database file. Call migrate() before use. */
export function openSqliteStore(path: string): Store {
  const db = new Sqlite(path);
  // WAL lets readers run beside the writer; NORMAL skips the fsync per commit
  // (durable across process crashes; a power cut may lose the last commits).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Another process (a CLI, a backup) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new QueuedSqliteDialect(db) });
  return new KyselyStore(kysely, traits);
}

/** Kysely's SQLite dialect with the driver below in place of its own. */
class QueuedSqliteDialect extends SqliteDialect {
  constructor(private readonly db: Sqlite.Database) {
    super({ database: db });
  }

  override createDriver(): Driver {
    return new QueuedSqliteDriver(this.db);
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

  constructor(private readonly db: Sqlite.Database) {
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
