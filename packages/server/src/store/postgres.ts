import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyStore, type DialectTraits, type StatementAppendWriter, type StoredAppend } from './kysely-store.ts';
import type { NewMessage, Store } from './port.ts';
import type { Database } from './schema.ts';

/**
 * appendMessage in one statement, one round trip. Same steps as the portable
 * transaction in kysely-store.ts: the UPDATE ... RETURNING takes the
 * conversation's row lock (concurrent appends to it queue there, so seqs stay
 * dense), the sender's cursors move to the new seq, the message is inserted.
 * Any failure (a duplicate client_msg_id) rolls the whole statement back, seq
 * included. No row from the CTE means no such conversation in this app.
 */
async function appendStatement(db: Kysely<Database>, m: StoredAppend): Promise<number | undefined> {
  const { rows } = await sql<{ seq: number }>`
    with bumped as (
      update conversations set last_seq = last_seq + 1, last_message_at = ${m.created_at}::bigint
      where app_id = ${m.app_id} and id = ${m.conversation_id}
      returning last_seq
    ), sender as (
      update members set read_seq = bumped.last_seq, delivered_seq = bumped.last_seq
      from bumped
      where members.app_id = ${m.app_id} and members.conversation_id = ${m.conversation_id} and members.user_id = ${m.sender_id}
    )
    insert into messages (app_id, id, conversation_id, seq, sender_id, client_msg_id, type, content, state, created_at, updated_at, edited_at)
    select ${m.app_id}::text, ${m.id}::text, ${m.conversation_id}::text, bumped.last_seq, ${m.sender_id}::text,
      ${m.client_msg_id}::text, ${m.type}::text, ${m.stored_content}::text, ${m.state}::text,
      ${m.created_at}::bigint, ${m.created_at}::bigint, null
    from bumped
    returning seq`.execute(db);
  return rows[0]?.seq;
}

/**
 * Group commit for Postgres: a whole batch of appends, any mix of apps and
 * conversations, in one statement, so one round trip and one WAL flush carry
 * the lot. Resends whose first copy is already stored are left out before
 * they can take a seq. The conversations' rows are locked in key order first,
 * so two nodes' batches wait for each other instead of deadlocking; each
 * conversation's seq then moves by its count of messages, and each message
 * takes base + its place in the batch. Returns the seq per input (undefined:
 * no such conversation, or already stored). Any error (a twin committed by
 * another node after this statement's snapshot) rolls it all back; the caller
 * then appends one by one.
 */
const APPEND_BATCH = `
  with input as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
      with ordinality as t(app_id, id, conversation_id, sender_id, client_msg_id, type, content, state, created_at, ord)
  ), fresh as (
    select i.* from input i
    where i.client_msg_id is null or not exists (
      select 1 from messages m where m.app_id = i.app_id and m.sender_id = i.sender_id and m.client_msg_id = i.client_msg_id)
  ), counts as (
    select app_id, conversation_id, count(*)::int as n, max(created_at) as last_at from fresh group by app_id, conversation_id
  ), locked as materialized (
    select c.app_id, c.id from conversations c
    join counts k on c.app_id = k.app_id and c.id = k.conversation_id
    order by c.app_id, c.id
    for update of c
  ), bumped as (
    update conversations c set last_seq = c.last_seq + k.n, last_message_at = k.last_at
    from counts k, locked l
    where c.app_id = k.app_id and c.id = k.conversation_id and l.app_id = c.app_id and l.id = c.id
    returning c.app_id, c.id, c.last_seq - k.n as base
  ), numbered as (
    select f.*, (b.base + row_number() over (partition by f.app_id, f.conversation_id order by f.ord))::int as seq
    from fresh f join bumped b on b.app_id = f.app_id and b.id = f.conversation_id
  ), senders as (
    update members m set read_seq = s.seq, delivered_seq = s.seq
    from (select app_id, conversation_id, sender_id, max(seq) as seq from numbered group by app_id, conversation_id, sender_id) s
    where m.app_id = s.app_id and m.conversation_id = s.conversation_id and m.user_id = s.sender_id
  ), inserted as (
    insert into messages (app_id, id, conversation_id, seq, sender_id, client_msg_id, type, content, state, created_at, updated_at, edited_at)
    select app_id, id, conversation_id, seq, sender_id, client_msg_id, type, content, state, created_at, created_at, null from numbered
  )
  select ord::int as ord, seq from numbered`;

function batchAppender(pool: pg.Pool): StatementAppendWriter['appendBatchStatement'] {
  return async (batch) => {
    const column = <K extends keyof NewMessage>(key: K) => batch.map((m) => m[key]);
    const { rows } = await pool.query<{ ord: number; seq: number }>({
      // Named: Postgres parses and plans it once per connection, not per batch.
      name: 'warbler_append_batch',
      text: APPEND_BATCH,
      values: [
        column('app_id'), column('id'), column('conversation_id'), column('sender_id'), column('client_msg_id'),
        column('type'), batch.map((m) => m.stored_content), column('state'), column('created_at'),
      ],
    });
    const seqs: Array<number | undefined> = new Array(batch.length).fill(undefined);
    for (const row of rows) seqs[row.ord - 1] = row.seq;
    return seqs;
  };
}

const traits: DialectTraits = {
  name: 'postgres',
  isUniqueViolation: (error) => (error as { code?: unknown } | null)?.code === '23505',
  isForeignKeyViolation: (error) => (error as { code?: unknown } | null)?.code === '23503',
  bool: (value) => value,
  greatest: 'greatest',
  least: 'least',
};

const INT8_OID = 20;

/**
 * pg returns BIGINT as a string because it can exceed 2^53. Our BIGINTs are ms
 * timestamps, sizes and counts, all far below that, so read them as numbers.
 * Scoped to this pool rather than pg's global type registry.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PostgresStoreOptions {
  /** Pool size. Appends take one connection at a time (group commit); reads and other writes share the rest. */
  maxConnections?: number;
  /**
   * How long to wait for a connection, and for any query, before failing it
   * (clients are told `unavailable` and retry). A database that stops
   * answering without closing its sockets (a partition, a silent load
   * balancer) would otherwise hold every request on this node until TCP
   * gives up, which takes minutes. Migrations run without it. Default 15 s.
   */
  timeoutMs?: number;
}

/** Connects to PostgreSQL (lazily: the first query opens the pool). Call migrate() before use. */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Store {
  const pool = openPostgresPool(url, options.maxConnections ?? 20, options.timeoutMs ?? 15_000);
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStore(kysely, {
    ...postgresTraits(pool),
    // A migration may rightly run for minutes (an index on a big table): its own connection, no timeout.
    migrationDb: () => new Kysely<Database>({ dialect: new PostgresDialect({ pool: openPostgresPool(url, 1, 0) }) }),
  });
}

/** The pool the store uses: BIGINTs read as numbers, and a dead idle connection is not fatal. */
export function openPostgresPool(url: string, max: number, timeoutMs = 15_000): pg.Pool {
  // On a query timeout pg fails the query and the pool discards its connection. The outcome of a write is
  // then unknown, which client_msg_id makes safe: a send's retry finds the message if it was stored after all.
  // keepAlive: an idle connection to a database that vanished is noticed and dropped in time.
  const pool = new pg.Pool({
    connectionString: url, max, types, keepAlive: true,
    ...(timeoutMs > 0 && { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs }),
  });
  // An idle connection that dies (server restart, failover) is dropped from the
  // pool and the next query opens a new one; without a listener Node would
  // treat the 'error' event as fatal and crash the server.
  pool.on('error', () => {});
  // The same for a connection that dies while checked out but between queries (a transaction awaiting
  // the app, a key lookup mid-append): pg emits on the client itself, and with no listener that is an
  // uncaught exception. The query in progress, or the next one, fails instead and is reported as unavailable.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/** What KyselyStore needs to know about Postgres, with the batch append bound to this pool. */
export function postgresTraits(pool: pg.Pool): DialectTraits & StatementAppendWriter {
  return { ...traits, appendBatchStatement: batchAppender(pool), appendStatement };
}
