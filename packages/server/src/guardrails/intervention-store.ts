import { CompiledQuery, type Kysely } from 'kysely';
import type { GuardrailAction, GuardrailPath } from './screen.ts';

/** One stored intervention (table guardrail_interventions, migration 0023). */
export interface InterventionRow {
  app_id: string;
  /** Time-ordered (ids.newOrderedId): sorting by id is sorting by time. */
  id: string;
  at: number;
  path: GuardrailPath;
  who: string | null;
  rule: string;
  action: GuardrailAction;
  policy: string;
  count: number;
  word: string | null;
  excerpt: string | null;
}

export interface InterventionFilter {
  action?: GuardrailAction;
  rule?: string;
  path?: GuardrailPath;
  /** ms since the epoch, inclusive */
  since?: number;
  /** ms since the epoch, exclusive */
  until?: number;
  /** Rows older than this id (newest-first paging). */
  before?: string;
  limit: number;
}

interface Tables {
  guardrail_interventions: InterventionRow;
}

/** The guardrails room's table, on SQLite and PostgreSQL alike. */
const BATCH = 500;
/** The columns of a row, in the order the batch statement lists them. */
const COLUMNS = ['app_id', 'id', 'at', 'path', 'who', 'rule', 'action', 'policy', 'count', 'word', 'excerpt'] as const satisfies ReadonlyArray<keyof InterventionRow>;

export class InterventionStore {
  private readonly db: Kysely<Tables>;
  private batchSql: string | undefined;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<Tables>;
  }

  /** One statement for a batch (the log buffers them): an intervention on every call must not be a write per call. */
  async insert(rows: readonly InterventionRow[]): Promise<void> {
    // 11 columns a row; SQLite allows 32,766 parameters, PostgreSQL 65,535.
    for (let i = 0; i < rows.length; i += BATCH) {
      const chunk = rows.slice(i, i + BATCH);
      // A full batch (the busy case) reuses its SQL: Kysely building 500 rows × 11 values anew was ~1 % of a guarded call.
      if (chunk.length === BATCH) {
        const parameters: unknown[] = [];
        for (const r of chunk) for (const c of COLUMNS) parameters.push(r[c]);
        await this.db.executeQuery(CompiledQuery.raw(this.fullBatchSql(), parameters));
      } else await this.db.insertInto('guardrail_interventions').values(chunk).execute();
    }
  }

  /** `insert … values (?, …), … ` for BATCH rows with COLUMNS in order, in the dialect's own placeholders; compiled once. */
  private fullBatchSql(): string {
    if (this.batchSql === undefined) {
      const row = Object.fromEntries(COLUMNS.map((c) => [c, null])) as unknown as InterventionRow;
      this.batchSql = this.db.insertInto('guardrail_interventions').values(Array.from({ length: BATCH }, () => row)).compile().sql;
    }
    return this.batchSql;
  }

  async list(appId: string, filter: InterventionFilter): Promise<InterventionRow[]> {
    let q = this.db.selectFrom('guardrail_interventions').selectAll().where('app_id', '=', appId);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.rule) q = q.where('rule', '=', filter.rule);
    if (filter.path) q = q.where('path', '=', filter.path);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({ ...r, at: Number(r.at), count: Number(r.count) }));
  }

  /** The rules an app's stored interventions name, for the console's filter. */
  async rules(appId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('guardrail_interventions').select('rule').distinct().where('app_id', '=', appId).orderBy('rule').limit(500).execute();
    return rows.map((r) => r.rule);
  }

  /** Removes up to `limit` rows older than `before` (any app); returns how many. */
  async prune(before: number, limit: number): Promise<number> {
    const old = await this.db.selectFrom('guardrail_interventions').select(['app_id', 'id']).where('at', '<', before).limit(limit).execute();
    if (old.length === 0) return 0;
    // Ids are unique across apps (random part), so the id names the row; `at` lets the time index find them.
    await this.db.deleteFrom('guardrail_interventions').where('at', '<', before).where('id', 'in', old.map((r) => r.id)).execute();
    return old.length;
  }
}
