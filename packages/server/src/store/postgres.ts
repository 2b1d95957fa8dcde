import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyStore, type DialectTraits } from './kysely-store.ts';
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
async function appendStatement(db: Kysely<Database>, m: NewMessage): Promise<number | undefined> {
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
      ${m.client_msg_id}::text, ${m.type}::text, ${JSON.stringify(m.content)}::text, ${m.state}::text,
      ${m.created_at}::bigint, ${m.created_at}::bigint, null
    from bumped
    returning seq`.execute(db);
  return rows[0]?.seq;
}

const traits: DialectTraits = {
  name: 'postgres',
  isUniqueViolation: (error) => (error as { code?: unknown } | null)?.code === '23505',
  isForeignKeyViolation: (error) => (error as { code?: unknown } | null)?.code === '23503',
  bool: (value) => value,
  greatest: 'greatest',
  least: 'least',
  groupCommit: false,
  appendStatement,
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
  /** Pool size; appends to one conversation queue on its row lock, so more helps only across conversations. */
  maxConnections?: number;
}

/** Connects to PostgreSQL (lazily: the first query opens the pool). Call migrate() before use. */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Store {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 20, types });
  // An idle connection that dies (server restart, failover) is dropped from the
  // pool and the next query opens a new one; without a listener Node would
  // treat the 'error' event as fatal and crash the server.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStore(kysely, traits);
}
