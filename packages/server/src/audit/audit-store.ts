import type { Kysely } from 'kysely';
import type { AuditContent } from './chain.ts';

/** A stored audit entry: its content and the two hashes that chain it. */
export interface AuditRow extends AuditContent {
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  action?: string;
  resource?: string;
  actor_kind?: string;
  /** ms since the epoch, inclusive */
  since?: number;
  /** ms since the epoch, exclusive */
  until?: number;
  /** Entries below this seq (newest first paging). */
  before_seq?: number;
  limit: number;
}

interface AuditTables {
  audit_log: {
    app_id: string; seq: number; id: string; at: number; actor_kind: string; actor_id: string | null; ip: string | null;
    user_agent: string | null; action: string; resource: string; resource_id: string | null; before: string | null;
    after: string | null; request_id: string | null; prev_hash: string; hash: string;
  };
}

/** The audit room's tables: rows are only ever inserted, never updated or deleted, by Warbler. */
export class AuditStore {
  private readonly db: Kysely<AuditTables>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<AuditTables>;
  }

  async last(appId: string): Promise<{ seq: number; hash: string } | undefined> {
    const row = await this.db.selectFrom('audit_log').select(['seq', 'hash']).where('app_id', '=', appId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && { seq: Number(row.seq), hash: row.hash };
  }

  /** Inserts one entry; a second writer at the same seq (another node) fails on the primary key and retries from the new head. */
  async insert(row: AuditRow): Promise<void> {
    await this.db.insertInto('audit_log').values(row).execute();
  }

  async list(appId: string, filter: AuditFilter): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('app_id', '=', appId);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.resource) q = q.where('resource', '=', filter.resource);
    if (filter.actor_kind) q = q.where('actor_kind', '=', filter.actor_kind);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    if (filter.before_seq !== undefined) q = q.where('seq', '<', filter.before_seq);
    const rows = await q.orderBy('seq', 'desc').limit(filter.limit).execute();
    return rows.map(normalise);
  }

  /** A page of one app's chain in seq order, for verification and export. */
  async range(appId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('app_id', '=', appId).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute();
    return rows.map(normalise);
  }
}

// PostgreSQL hands bigint columns back as strings.
function normalise(row: AuditRow): AuditRow {
  return { ...row, seq: Number(row.seq), at: Number(row.at) };
}
