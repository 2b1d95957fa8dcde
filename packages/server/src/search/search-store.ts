// The search room's table: message_terms, one row per (term, message) with
// the term keyed by the app's index key (blind index, decision 0026). It
// holds no text; reading a message's words back takes the messages table
// and the app's data key, as every other reader does.
import { CompiledQuery, SqliteAdapter, type Kysely } from 'kysely';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface TermHit {
  message_id: string;
  conversation_id: string;
}

/**
 * Rows per insert statement, largest first. Each size is compiled once and
 * then run with fresh values: a statement of whatever length the batch had
 * was rebuilt by Kysely and prepared anew by SQLite on every write, which
 * cost about as much as storing the rows (bench:agent-stream, decision 0028).
 * PostgreSQL: a round trip per statement, so many rows each.
 */
const INSERT_SIZES = [256, 32, 4, 1] as const;
/**
 * SQLite: one row per statement. No round trip to save, and SQLite spends
 * about twice the CPU per row on a many-row `values … on conflict` as on a
 * one-row one (14–15 against 8 µs a row in better-sqlite3 alone; 13 against
 * 11 µs through Kysely's executor, issue 14).
 */
const SQLITE_INSERT_SIZES = [1] as const;
/**
 * Most rows one transaction writes. better-sqlite3 runs on the event loop, so
 * a transaction is a pause for every socket of the node: 200 agent replies
 * finishing together (~20,000 rows at ~7.5 µs) were one ~150 ms pause, the
 * p99 of bench:agent-stream. Larger groups are cut at message boundaries,
 * with a turn of the event loop between them (~15 ms pauses at most).
 */
export const MAX_ROWS_PER_WRITE = 2048;
/** A message's terms as they must be after the next write; no terms removes it from the index. */
interface TermsChange {
  appId: string;
  messageId: string;
  conversationId: string;
  terms: readonly string[];
  /** Never indexed before (a new message, a streaming reply finishing): no old rows to delete. */
  fresh: boolean;
}

/**
 * Index changes are group-committed: those made while a write is in flight
 * (or in the same event-loop turn) go together in the next transaction, the
 * last change of a message winning. 200 agent replies finishing at once were
 * 200 transactions, a third of the server's CPU in bench:agent-stream (its
 * commits and statements); now they are one or two. Writes never overlap, so
 * a message's changes land in the order they were made; each call resolves
 * once its change is committed.
 */
export class MessageTermsStore {
  /** Each message's next change, and the calls waiting for it (a replaced change's callers wait for the one replacing it). */
  private pending = new Map<string, { change: TermsChange; waiters: Waiter[] }>();
  private writing: Promise<void> | undefined;
  /** The insert SQL for each of the insert sizes, compiled on first use. */
  private readonly inserts = new Map<number, string>();
  /** The delete of one message's rows, compiled on first use. */
  private deleteOne: string | undefined;

  private readonly insertSizes: readonly number[];

  constructor(private readonly db: Kysely<any>) {
    this.insertSizes = db.getExecutor().adapter instanceof SqliteAdapter ? SQLITE_INSERT_SIZES : INSERT_SIZES;
  }

  /**
   * The message's terms become exactly these (an edit replaces them; none removes the message from the index).
   * `fresh`: the message was never indexed (a new one, a streaming reply finishing), so its old rows are not looked for.
   */
  replace(appId: string, messageId: string, conversationId: string, terms: readonly string[], opts: { fresh?: boolean } = {}): Promise<void> {
    return this.enqueue({ appId, messageId, conversationId, terms, fresh: opts.fresh ?? false });
  }

  /** The message leaves the index; its conversation names where its rows are (the index is by conversation, then message). */
  remove(appId: string, messageId: string, conversationId: string): Promise<void> {
    return this.enqueue({ appId, messageId, conversationId, terms: [], fresh: false });
  }

  private enqueue(change: TermsChange): Promise<void> {
    const key = `${change.appId}\u0000${change.messageId}`;
    const before = this.pending.get(key);
    // A change still pending may itself need old rows deleted: the one replacing it does that instead.
    if (before?.change.fresh === false) change = { ...change, fresh: false };
    const waiters = before?.waiters ?? [];
    this.pending.delete(key);
    this.pending.set(key, { change, waiters });
    const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    this.writing ??= this.writeAll();
    return done;
  }

  /**
   * Writes groups until nothing is pending, oldest changes first, each at
   * most MAX_ROWS_PER_WRITE rows (or one message), with a turn of the event
   * loop before each: the first so that changes made together go together,
   * the others so that sockets are served between long groups.
   */
  private async writeAll(): Promise<void> {
    while (this.pending.size > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const group: Array<{ change: TermsChange; waiters: Waiter[] }> = [];
      let rows = 0;
      for (const [key, entry] of this.pending) {
        if (group.length > 0 && rows + entry.change.terms.length > MAX_ROWS_PER_WRITE) break;
        group.push(entry);
        rows += entry.change.terms.length;
        this.pending.delete(key);
      }
      try {
        await this.write(group.map((g) => g.change));
        for (const g of group) for (const w of g.waiters) w.resolve();
      } catch (err) {
        for (const g of group) for (const w of g.waiters) w.reject(err);
      }
    }
    this.writing = undefined;
  }

  private async write(changes: readonly TermsChange[]): Promise<void> {
    const rows = changes.flatMap((c) => c.terms.map((term) => ({ app_id: c.appId, term, message_id: c.messageId, conversation_id: c.conversationId })));
    await this.db.transaction().execute(async (tx) => {
      // Old rows are found through the (app, conversation, message) index, the only one beside the primary key
      // (migration 0027); one compiled statement per message, not a statement built anew for each.
      for (const c of changes) {
        if (!c.fresh) await tx.executeQuery(CompiledQuery.raw(this.deleteSql(), [c.appId, c.conversationId, c.messageId]));
      }
      let i = 0;
      for (const size of this.insertSizes) {
        for (; rows.length - i >= size; i += size) {
          const parameters: string[] = [];
          for (let r = i; r < i + size; r++) parameters.push(rows[r]!.app_id, rows[r]!.term, rows[r]!.message_id, rows[r]!.conversation_id);
          await tx.executeQuery(CompiledQuery.raw(this.insertSql(size), parameters));
        }
      }
    });
  }

  /** `delete … where app_id = ? and conversation_id = ? and message_id = ?`, in the dialect's own placeholders. */
  private deleteSql(): string {
    this.deleteOne ??= this.db
      .deleteFrom('message_terms')
      .where('app_id', '=', '')
      .where('conversation_id', '=', '')
      .where('message_id', '=', '')
      .compile().sql;
    return this.deleteOne;
  }

  /** `insert … values (?, ?, ?, ?) × size … on conflict do nothing`, in the dialect's own placeholders, its parameters in row order. */
  private insertSql(size: number): string {
    let sql = this.inserts.get(size);
    if (sql === undefined) {
      const row = { app_id: '', term: '', message_id: '', conversation_id: '' };
      sql = this.db
        .insertInto('message_terms')
        .values(Array.from({ length: size }, () => row))
        .onConflict((oc) => oc.columns(['app_id', 'term', 'message_id']).doNothing())
        .compile().sql;
      this.inserts.set(size, sql);
    }
    return sql;
  }

  /**
   * Messages that hold every one of `terms`, newest first (message ids are
   * ordered by time), in the conversations the user is a member of now, or
   * in the one named (membership checked by the caller).
   */
  async find(
    appId: string,
    terms: readonly string[],
    scope: { userId: string } | { conversationId: string },
    page: { before?: string; limit: number },
  ): Promise<TermHit[]> {
    if (terms.length === 0) return [];
    let q = this.db
      .selectFrom('message_terms')
      .select(['message_id', 'conversation_id'])
      .where('app_id', '=', appId)
      .where('term', 'in', [...terms]);
    q = 'conversationId' in scope
      ? q.where('conversation_id', '=', scope.conversationId)
      : q.where('conversation_id', 'in', this.db.selectFrom('members').select('conversation_id').where('app_id', '=', appId).where('user_id', '=', scope.userId));
    if (page.before !== undefined) q = q.where('message_id', '<', page.before);
    const rows = await q
      .groupBy(['message_id', 'conversation_id'])
      .having((eb) => eb.fn.countAll(), '=', terms.length)
      .orderBy('message_id', 'desc')
      .limit(page.limit)
      .execute();
    return rows as TermHit[];
  }
}
