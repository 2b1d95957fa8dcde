import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { KyselyStore, type DialectTraits } from './kysely-store.ts';
import type { Store } from './port.ts';
import type { Database } from './schema.ts';

const traits: DialectTraits = {
  name: 'postgres',
  isUniqueViolation: (error) => (error as { code?: unknown } | null)?.code === '23505',
  bool: (value) => value,
  greatest: 'greatest',
  least: 'least',
  groupCommit: false,
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
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStore(kysely, traits);
}
