import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './port.ts';

export type * from './port.ts';
export type * from './port-ai.ts';
export type * from './port-gateway.ts';
export { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn, type SealedField } from './sealing.ts';
export { resendKey, StoreConflict, StoreNotFound } from './port.ts';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
export { openSqliteStore } from './sqlite.ts';
export { isStoreUnavailable, storeUnavailable } from './unavailable.ts';

export interface StoreConfig {
  /** postgres:// or postgresql:// selects PostgreSQL; unset selects SQLite. */
  databaseUrl?: string;
  /** Where the SQLite file (warbler.db) lives; created when missing. */
  dataDir: string;
  /** PostgreSQL: connect and append-batch timeout (see PostgresStoreOptions). */
  timeoutMs?: number;
}

/** Opens the configured store. The caller runs migrate() once before serving. */
export function openStore(config: StoreConfig): Store {
  const url = config.databaseUrl?.trim();
  if (url) {
    if (/^postgres(ql)?:\/\//i.test(url)) return openPostgresStore(url, { timeoutMs: config.timeoutMs });
    throw new Error(
      `Unsupported database URL "${url.split(':')[0]}:…": use postgres://user:pass@host/db, or leave it unset for SQLite in the data directory`,
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  return openSqliteStore(join(config.dataDir, 'warbler.db'));
}
