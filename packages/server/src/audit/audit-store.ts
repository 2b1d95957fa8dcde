import type { Kysely } from 'kysely';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from '../store/index.ts';
import type { AuditContent } from './chain.ts';
import type { SignedHead } from './head-signature.ts';

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
  audit_heads: { app_id: string; seq: number; hash: string; at: number; key_id: string; signature: string };
}

/**
 * Before/after values hold what was changed (an agent's prompt, an FAQ, a
 * user's profile): sealed at rest. The chain hashes the plaintext, so
 * sealing, and re-sealing after a key rotation, leave the chain as it was.
 */
const SEALED: ReadonlyArray<SealedColumn<AuditRow>> = [{ field: 'audit_log.before', column: 'before' }, { field: 'audit_log.after', column: 'after' }];
const rowId = (r: AuditRow) => r.id;

/** The audit room's tables: rows are only ever inserted (and their before/after re-sealed by the at-rest job), never deleted, by Warbler. */
export class AuditStore {
  private readonly db: Kysely<AuditTables>;

  constructor(
    db: Kysely<any>,
    private readonly sealer: RowSealer = PLAINTEXT,
  ) {
    this.db = db as Kysely<AuditTables>;
  }

  async last(appId: string): Promise<{ seq: number; hash: string } | undefined> {
    const row = await this.db.selectFrom('audit_log').select(['seq', 'hash']).where('app_id', '=', appId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && { seq: Number(row.seq), hash: row.hash };
  }

  /**
   * Inserts one entry and moves the app's signed head to it, in one
   * transaction; a second writer at the same seq (another node) fails on the
   * primary key and retries from the new head.
   */
  async insert(row: AuditRow, head: SignedHead): Promise<void> {
    const [sealed] = await sealColumns(this.sealer, [row], SEALED, rowId);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('audit_log').values(sealed!).execute();
      await upsertHead(trx, head);
    });
  }

  async head(appId: string): Promise<SignedHead | undefined> {
    const row = await this.db.selectFrom('audit_heads').selectAll().where('app_id', '=', appId).executeTakeFirst();
    return row && { ...row, seq: Number(row.seq), at: Number(row.at) };
  }

  /** Signs a chain's head again (a chain from before heads were signed, or after the master secret changed). */
  async setHead(head: SignedHead): Promise<void> {
    await upsertHead(this.db, head);
  }

  /** Apps with audit entries, and the signed head of each where there is one. */
  async chains(): Promise<Array<{ app_id: string; head?: SignedHead }>> {
    const apps = await this.db.selectFrom('audit_log').select('app_id').distinct().execute();
    const heads = new Map((await this.db.selectFrom('audit_heads').selectAll().execute()).map((h) => [h.app_id, { ...h, seq: Number(h.seq), at: Number(h.at) }]));
    return apps.map((a) => ({ app_id: a.app_id, ...(heads.has(a.app_id) ? { head: heads.get(a.app_id)! } : {}) }));
  }

  /** The entry at seq, if the chain still holds it. */
  async at(appId: string, seq: number): Promise<AuditRow | undefined> {
    const row = await this.db.selectFrom('audit_log').selectAll().where('app_id', '=', appId).where('seq', '=', seq).executeTakeFirst();
    return row && (await this.opened([normalise(row)]))[0];
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
    return this.opened(rows.map(normalise));
  }

  /** A page of one app's chain in seq order, for verification and export. */
  async range(appId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('app_id', '=', appId).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute();
    return this.opened(rows.map(normalise));
  }

  private opened(rows: AuditRow[]): Promise<AuditRow[]> {
    return openColumns(this.sealer, rows, SEALED, rowId);
  }
}

// The head only moves forward: a slower writer (another node) never moves it back to an older entry.
async function upsertHead(db: Kysely<AuditTables>, head: SignedHead): Promise<void> {
  const { app_id: _app, ...set } = head;
  await db
    .insertInto('audit_heads')
    .values(head)
    .onConflict((oc) => oc.column('app_id').doUpdateSet(set).where('audit_heads.seq', '<=', head.seq))
    .execute();
}

// PostgreSQL hands bigint columns back as strings.
function normalise(row: AuditRow): AuditRow {
  return { ...row, seq: Number(row.seq), at: Number(row.at) };
}
