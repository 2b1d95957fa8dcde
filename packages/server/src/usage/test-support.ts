// Shared by the usage room's tests: ledger stores to run against (in memory,
// and SQLite once the store implements the ledger half of its port), and
// builders for router reports and rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptReport, Usage } from '../llm/index.ts';
import { createTestDatabase, postgresAdminUrl } from '../../test/postgres.ts';
import { openPostgresStore, openSqliteStore, type LedgerRow, type Store } from '../store/index.ts';
import { MemoryLedgerStore, type LedgerStorePort } from './memory-ledger.ts';
import type { UsageLog } from './ledger.ts';

export const APP = 'app_usage';
export const OTHER_APP = 'app_other';

export interface TestStore {
  name: string;
  store: LedgerStorePort;
  close(): Promise<void>;
}

export function memoryStore(): TestStore {
  return { name: 'memory', store: new MemoryLedgerStore(), close: async () => {} };
}

async function withApps(store: Store): Promise<Store> {
  await store.migrate();
  // Ledger rows reference their app.
  for (const id of [APP, OTHER_APP]) await store.createApp({ id, name: id, secret_hash: 'h', created_at: 1, updated_at: 1 });
  return store;
}

/** A migrated SQLite file: what `npm start` runs on. */
export async function sqliteStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'warbler-usage-'));
  const store = await withApps(openSqliteStore(join(dir, 'usage.db')));
  return {
    name: 'sqlite',
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the run's throwaway PostgreSQL. */
export async function postgresStore(): Promise<TestStore> {
  const db = await createTestDatabase();
  const store = await withApps(openPostgresStore(db.url));
  return {
    name: 'postgres',
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}

export type StoreKind = 'memory' | 'sqlite' | 'postgres';

/** The stores ledger tests run against: Postgres too when the run has one. */
export const STORE_KINDS: StoreKind[] = postgresAdminUrl() ? ['memory', 'sqlite', 'postgres'] : ['memory', 'sqlite'];

export function openTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'memory') return Promise.resolve(memoryStore());
  return kind === 'sqlite' ? sqliteStore() : postgresStore();
}

export function usage(u: Partial<Usage> & Pick<Usage, 'promptTokens' | 'completionTokens'>): Usage {
  return { cachedTokens: 0, reasoningTokens: 0, estimated: false, totalTokens: u.promptTokens + u.completionTokens, ...u };
}

export function attempt(over: Partial<AttemptReport> = {}): AttemptReport {
  return {
    callId: 'call_1',
    operation: 'chat',
    requestedModel: 'gpt-4o-mini',
    model: 'gpt-4o-mini',
    deployment: 'openai/gpt-4o-mini',
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    attempt: 1,
    outcome: 'success',
    committed: true,
    startedAt: Date.parse('2025-11-10T12:00:00Z'),
    latencyMs: 120.4,
    ttftMs: 40.6,
    usage: usage({ promptTokens: 100, completionTokens: 20 }),
    finishReason: 'stop',
    context: { app_id: APP, source: 'agent', agent_id: 'usr_agent' },
    ...over,
  };
}

let seq = 0;
export function row(over: Partial<LedgerRow> = {}): LedgerRow {
  seq += 1;
  return {
    id: `led_${String(seq).padStart(6, '0')}`,
    app_id: APP,
    source: 'agent',
    agent_id: 'usr_agent',
    key_id: null,
    user_id: null,
    conversation_id: null,
    message_id: null,
    request_id: null,
    purpose: 'reply',
    model: 'gpt-4o-mini',
    deployment: 'openai/gpt-4o-mini',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    attempt: 1,
    prompt_tokens: 100,
    cached_tokens: 0,
    completion_tokens: 20,
    reasoning_tokens: 0,
    estimated: false,
    cost_nanos: 27_000n,
    currency: 'USD',
    price_id: 'gpt-4o-mini@2024-10-01',
    ttft_ms: 40,
    latency_ms: 120,
    outcome: 'ok',
    error: null,
    created_at: Date.parse('2025-11-10T12:00:00Z'),
    ...over,
  };
}

export interface CapturedLog extends UsageLog {
  warnings: Array<{ obj: object; msg: string }>;
  errors: Array<{ obj: object; msg: string }>;
}

export function captureLog(): CapturedLog {
  const warnings: CapturedLog['warnings'] = [];
  const errors: CapturedLog['errors'] = [];
  return { warnings, errors, warn: (obj, msg) => warnings.push({ obj, msg }), error: (obj, msg) => errors.push({ obj, msg }) };
}
