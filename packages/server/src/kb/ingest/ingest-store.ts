import type { Kysely } from 'kysely';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from '../../store/index.ts';
import type { SourceFormat } from '../parse/index.ts';

export type IngestStatus = 'queued' | 'processing' | 'ready' | 'failed';

/** One upload on its way into a knowledge base; its id is the document's id once ready. */
export interface IngestJobRow {
  app_id: string;
  id: string;
  kb_id: string;
  filename: string;
  source: string;
  title: string | null;
  format: SourceFormat;
  status: IngestStatus;
  /** Why it failed, for a person to act on. */
  reason: string | null;
  /** 0-100. */
  progress: number;
  attempts: number;
  bytes: number;
  /** The file, base64; dropped once the document is ready. */
  data: string | null;
  /** A node holds a processing job until then; past it, any node may take the job again. */
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

export type IngestJob = Omit<IngestJobRow, 'data' | 'lease_until'>;

const LISTED = ['app_id', 'id', 'kb_id', 'filename', 'source', 'title', 'format', 'status', 'reason', 'progress', 'attempts', 'bytes', 'created_at', 'updated_at'] as const;

/** The uploaded file waiting to be parsed is customer content: sealed at rest. */
const SEALED: ReadonlyArray<SealedColumn<{ app_id: string; id: string; data: string | null }>> = [{ field: 'kb_ingest_jobs.data', column: 'data' }];
const rowId = (r: { id: string }) => r.id;

/** The ingestion room's tables (kb_ingest_jobs, kb_settings) behind a narrow interface. */
export class IngestStore {
  constructor(
    private readonly db: Kysely<any>,
    private readonly sealer: RowSealer = PLAINTEXT,
  ) {}

  async insert(row: IngestJobRow): Promise<void> {
    await this.db.insertInto('kb_ingest_jobs').values((await sealColumns(this.sealer, [row], SEALED, rowId))[0]!).execute();
  }

  async get(appId: string, id: string): Promise<IngestJob | undefined> {
    const row = await this.db.selectFrom('kb_ingest_jobs').select(LISTED).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row ? (num(row) as IngestJob) : undefined;
  }

  async list(appId: string, kbId: string, limit = 500): Promise<IngestJob[]> {
    const rows = await this.db.selectFrom('kb_ingest_jobs').select(LISTED).where('app_id', '=', appId).where('kb_id', '=', kbId)
      .orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(num) as IngestJob[];
  }

  /** Jobs a node may take now: queued, or processing under a lease that ran out (its node died). */
  async waiting(now: number, limit: number): Promise<{ app_id: string; id: string }[]> {
    return this.db.selectFrom('kb_ingest_jobs').select(['app_id', 'id'])
      .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'processing'), eb('lease_until', '<', now)])]))
      .orderBy('created_at').limit(limit).execute();
  }

  /** Takes a job for this node; false when another node took it first. */
  async claim(appId: string, id: string, now: number, leaseMs: number): Promise<IngestJobRow | undefined> {
    const r = await this.db.updateTable('kb_ingest_jobs')
      .set({ status: 'processing', lease_until: now + leaseMs, progress: 5, updated_at: now })
      .where('app_id', '=', appId).where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'processing'), eb('lease_until', '<', now)])]))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    const row = await this.db.selectFrom('kb_ingest_jobs').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row ? (await openColumns(this.sealer, [num(row) as IngestJobRow], SEALED, rowId))[0] : undefined;
  }

  async update(appId: string, id: string, patch: Partial<Pick<IngestJobRow, 'status' | 'reason' | 'progress' | 'attempts' | 'data' | 'lease_until' | 'title'>> & { updated_at: number }): Promise<boolean> {
    const sealed = typeof patch.data === 'string' ? { ...patch, data: (await sealColumns(this.sealer, [{ app_id: appId, id, data: patch.data }], SEALED, rowId))[0]!.data } : patch;
    const r = await this.db.updateTable('kb_ingest_jobs').set(sealed).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Back in the queue: a failed job to retry (its file is kept until it is ready). */
  async requeue(appId: string, id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('kb_ingest_jobs').set({ status: 'queued', reason: null, progress: 0, attempts: 0, lease_until: null, updated_at: now })
      .where('app_id', '=', appId).where('id', '=', id).where('status', '=', 'failed').where('data', 'is not', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Every job left processing by this node's last run: a single node restarting takes them back at once. */
  async releaseProcessing(now: number): Promise<number> {
    const r = await this.db.updateTable('kb_ingest_jobs').set({ status: 'queued', lease_until: null, progress: 0, updated_at: now })
      .where('status', '=', 'processing').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async delete(appId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('kb_ingest_jobs').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async getSettings(appId: string, kbId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('kb_settings').select('settings').where('app_id', '=', appId).where('kb_id', '=', kbId).executeTakeFirst();
    return row?.settings as string | undefined;
  }

  async putSettings(appId: string, kbId: string, settings: string, now: number): Promise<void> {
    await this.db.insertInto('kb_settings').values({ app_id: appId, kb_id: kbId, settings, updated_at: now })
      .onConflict((oc) => oc.columns(['app_id', 'kb_id']).doUpdateSet({ settings, updated_at: now })).execute();
  }
}

// PostgreSQL returns bigint columns as strings.
function num<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = { ...row };
  for (const k of ['progress', 'attempts', 'bytes', 'lease_until', 'created_at', 'updated_at']) {
    if (typeof out[k] === 'string') out[k] = Number(out[k]);
  }
  return out as T;
}
