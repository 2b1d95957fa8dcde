// Re-sealing in the background: after a key rotation (rows sealed with an
// older data key version), and on the first start after an upgrade (rows
// stored as plaintext before encryption existed). Batched, so traffic goes
// on; each row is replaced only if it still holds what was read (a
// compare-and-set), so an edit or a streaming reply written meanwhile wins;
// the cursor is saved after each batch, so a restart resumes where it was.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import { ENVELOPE_PREFIX, envelopeVersion } from './envelope.ts';
import { fileVersionOnDisk } from './file-stream.ts';
import type { Keyring, SealedField } from './keyring.ts';

interface Column {
  field: SealedField;
  table: string;
  column: string;
  /** SQL naming the row within its app (the row id of the value's additional data, and the job's cursor); default `id`. */
  key?: string;
  /** The row's own columns for a composite key, so the re-seal's update finds the row through the primary key instead of scanning for the expression. */
  columns?: (id: string) => Record<string, string | number>;
  /** A value that says nothing, stored unsealed (store/sealing.ts, SealedColumn.empty): neither sealed nor counted as left. */
  empty?: string;
}

/** "a/b" → { [first]: a, [second]: b }, split at the last slash (ids never hold one); numbers kept as numbers. */
const pair = (first: string, second: string, numeric = false) => (id: string): Record<string, string | number> => {
  const at = id.lastIndexOf('/');
  const right = id.slice(at + 1);
  return { [first]: id.slice(0, at), [second]: numeric ? Number(right) : right };
};

/** The sealed columns, in the order a job walks them, then the files on disk. */
const COLUMNS: ReadonlyArray<Column> = [
  { field: 'messages.content', table: 'messages', column: 'content' },
  { field: 'kb_documents.text', table: 'kb_documents', column: 'text' },
  { field: 'kb_chunks.text', table: 'kb_chunks', column: 'text' },
  { field: 'agent_memory.summary', table: 'agent_memory', column: 'summary', key: "agent_id || '/' || conversation_id", columns: pair('agent_id', 'conversation_id') }, // as store/kysely-ai-store.ts names it
  { field: 'responses.body', table: 'responses', column: 'body' },
  { field: 'responses.input', table: 'responses', column: 'input' },
  { field: 'responses.history', table: 'responses', column: 'history', empty: '[]' }, // as store/kysely-gateway-store.ts leaves it
  { field: 'webhook_deliveries.body', table: 'webhook_deliveries', column: 'body' },
  { field: 'audit_log.before', table: 'audit_log', column: 'before' },
  { field: 'audit_log.after', table: 'audit_log', column: 'after' },
  { field: 'kb_faqs.question', table: 'kb_faqs', column: 'question' },
  { field: 'kb_faqs.answer', table: 'kb_faqs', column: 'answer' },
  { field: 'kb_ingest_jobs.data', table: 'kb_ingest_jobs', column: 'data' },
  { field: 'dataset_items.data', table: 'dataset_items', column: 'data' },
  { field: 'dataset_results.answer', table: 'dataset_results', column: 'answer' },
  { field: 'support_notes.text', table: 'support_notes', column: 'text' },
  { field: 'agents.config', table: 'agents', column: 'config' },
  { field: 'batch_items.result', table: 'batch_items', column: 'result', key: "batch_id || '/' || line", columns: pair('batch_id', 'line', true) }, // as store/kysely-gateway-store.ts names it
  { field: 'support_conversations.handoff_detail', table: 'support_conversations', column: 'handoff_detail', key: 'conversation_id' },
  { field: 'support_conversations.csat_comment', table: 'support_conversations', column: 'csat_comment', key: 'conversation_id' },
];

/** Sealed files on disk, by the table that names them: chat uploads, and the /v1 Files API's batch files. */
const FILE_PHASES = ['files', 'gateway_files'] as const;
type FilePhase = (typeof FILE_PHASES)[number];

const PHASES = [...COLUMNS.map((c) => c.field), ...FILE_PHASES, 'check'] as const;
type Phase = (typeof PHASES)[number];

const ROW_BATCH = 200;
const FILE_BATCH = 20;
const IDLE_POLL_MS = 2_000;
const MAX_PASSES = 5;

export interface JobRow {
  app_id: string;
  target_version: number;
  phase: Phase | 'done';
  cursor: string | null;
  resealed: number;
  passes: number;
  state: 'running' | 'done';
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface RotationStatus {
  app_id: string;
  current_version: number;
  versions: number[];
  /** Each data key version and when it was made. */
  keys: Array<{ version: number; created_at: number }>;
  job: {
    state: 'running' | 'done';
    target_version: number;
    phase: string;
    resealed: number;
    passes: number;
    started_at: number;
    finished_at: number | null;
  } | null;
  /** Rows not yet sealed with the current version (plaintext or older), per column. */
  remaining: Record<SealedField, number>;
}

export class Resealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly db: Kysely<any>,
    private readonly keyring: Keyring,
    private readonly filesDir: string,
    private readonly onError: (err: unknown) => void,
    private readonly batchPauseMs = 0,
    /** Where the /v1 Files API keeps its bytes (data/gateway-files); its rows' paths are relative to it. */
    private readonly gatewayFilesDir = path.join(path.dirname(filesDir), 'gateway-files'),
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Starts a job sealing every row of the app with its current key (replacing any job before it). */
  async begin(appId: string): Promise<void> {
    await this.keyring.ready(appId, { seal: true });
    const now = Date.now();
    const row = { target_version: this.keyring.current(appId).version, phase: PHASES[0], cursor: null, resealed: 0, passes: 1, state: 'running', started_at: now, updated_at: now, finished_at: null };
    await this.db
      .insertInto('encryption_jobs')
      .values({ app_id: appId, ...row })
      .onConflict((oc) => oc.column('app_id').doUpdateSet(row))
      .execute();
    if (!this.stopped) this.schedule(0);
  }

  /** Apps that have never had a job: a database from before encryption, whose rows may be plaintext. */
  async adopt(appIds: readonly string[]): Promise<void> {
    const known = new Set((await this.db.selectFrom('encryption_jobs').select('app_id').execute()).map((r) => r.app_id as string));
    for (const appId of appIds) if (!known.has(appId)) await this.begin(appId);
  }

  /** A new data key version for the app, and a job re-sealing its rows with it. */
  async rotate(appId: string): Promise<RotationStatus> {
    await this.keyring.addVersion(appId);
    await this.begin(appId);
    return this.status(appId);
  }

  async status(appId: string): Promise<RotationStatus> {
    await this.keyring.ready(appId, {});
    const versions = this.keyring.versions(appId);
    const current = versions.at(-1) ?? 0;
    const job = (await this.db.selectFrom('encryption_jobs').selectAll().where('app_id', '=', appId).executeTakeFirst()) as JobRow | undefined;
    const remaining = {} as Record<SealedField, number>;
    for (const c of COLUMNS) remaining[c.field] = await this.countRemaining(c, appId, current);
    const keys = (await this.keyring.list(appId)).map((k) => ({ version: k.version, created_at: k.created_at }));
    return {
      app_id: appId,
      current_version: current,
      versions,
      keys,
      job: job
        ? {
            state: job.state, target_version: Number(job.target_version), phase: job.phase, resealed: Number(job.resealed), passes: Number(job.passes),
            started_at: Number(job.started_at), finished_at: job.finished_at === null ? null : Number(job.finished_at),
          }
        : null,
      remaining,
    };
  }

  /** Waits until no job is running (tests, and a caller that wants the rotation finished). */
  async settled(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.db.selectFrom('encryption_jobs').select('app_id').where('state', '=', 'running').executeTakeFirst()) !== undefined) {
      if (Date.now() > until) throw new Error('re-sealing did not finish in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private schedule(ms: number): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.step()
        .then((busy) => busy, (err: unknown) => (this.onError(err), false))
        .then((busy) => {
          this.running = undefined;
          this.schedule(busy ? this.batchPauseMs : IDLE_POLL_MS);
        });
    }, ms);
    this.timer.unref();
  }

  /** One batch of the oldest running job; false when there was nothing to do. */
  private async step(): Promise<boolean> {
    const job = (await this.db.selectFrom('encryption_jobs').selectAll().where('state', '=', 'running').orderBy('updated_at').limit(1).executeTakeFirst()) as JobRow | undefined;
    if (!job) return false;
    await this.keyring.ready(job.app_id, { seal: true });
    const target = this.keyring.current(job.app_id).version;
    const column = COLUMNS.find((c) => c.field === job.phase);
    let done: { cursor: string | null; resealed: number; finished: boolean };
    if (column) done = await this.rows(column, job.app_id, job.cursor, target);
    else if ((FILE_PHASES as readonly string[]).includes(job.phase)) done = await this.files(job.phase as FilePhase, job.app_id, job.cursor, target);
    else return this.check(job, target);
    const phase = done.finished ? PHASES[PHASES.indexOf(job.phase as Phase) + 1]! : job.phase;
    await this.db
      .updateTable('encryption_jobs')
      .set({ phase, cursor: done.finished ? null : done.cursor, resealed: sql`resealed + ${done.resealed}`, target_version: target, updated_at: Date.now() })
      .where('app_id', '=', job.app_id)
      .where('started_at', '=', job.started_at)
      .execute();
    return true;
  }

  private async rows(c: Column, appId: string, cursor: string | null, target: number) {
    const key = sql<string>`${sql.raw(c.key ?? 'id')}`;
    let query = this.db.selectFrom(c.table).select([key.as('id'), `${c.column} as value`]).where('app_id', '=', appId).where(c.column, 'is not', null);
    if (cursor !== null) query = query.where(key, '>', cursor);
    const rows = (await query.orderBy(key).limit(ROW_BATCH).execute()) as Array<{ id: string; value: string }>;
    const stale = rows.filter((r) => envelopeVersion(r.value) !== target && r.value !== c.empty);
    await this.keyring.ready(appId, { versions: stale.flatMap((r) => envelopeVersion(r.value) ?? []) });
    let resealed = 0;
    await this.db.transaction().execute(async (trx) => {
      for (const row of stale) {
        let plaintext: string;
        try {
          plaintext = this.keyring.open(appId, c.field, row.id, row.value);
        } catch (err) {
          // An altered row cannot be re-sealed; it stays as it is (and is shown as unreadable), the rest go on.
          this.onError(new Error(`${c.field} of row ${row.id} (app ${appId}) does not open, so it was not re-sealed: ${(err as Error).message}`));
          continue;
        }
        let update = trx
          .updateTable(c.table)
          .set({ [c.column]: this.keyring.seal(appId, c.field, row.id, plaintext) })
          .where('app_id', '=', appId);
        if (c.columns) for (const [column, value] of Object.entries(c.columns(row.id))) update = update.where(column, '=', value);
        else update = update.where(key, '=', row.id);
        const result = await update.where(c.column, '=', row.value).executeTakeFirst();
        resealed += Number(result.numUpdatedRows);
      }
    });
    return { cursor: rows.at(-1)?.id ?? cursor, resealed, finished: rows.length < ROW_BATCH };
  }

  private async files(table: FilePhase, appId: string, cursor: string | null, target: number) {
    const dir = table === 'files' ? this.filesDir : this.gatewayFilesDir;
    let query = this.db.selectFrom(table).select(['id', 'path']).where('app_id', '=', appId);
    if (cursor !== null) query = query.where('id', '>', cursor);
    const rows = (await query.orderBy('id').limit(FILE_BATCH).execute()) as Array<{ id: string; path: string }>;
    let resealed = 0;
    for (const row of rows) if (await this.resealFile(appId, row.id, path.join(dir, row.path), target)) resealed++;
    return { cursor: rows.at(-1)?.id ?? cursor, resealed, finished: rows.length < FILE_BATCH };
  }

  // Written beside the old file and renamed over it: a download already reading the old one keeps its open file.
  private async resealFile(appId: string, fileId: string, file: string, target: number): Promise<boolean> {
    const version = await fileVersionOnDisk(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
    if (version === null || version === target) return false;
    if (version !== undefined) await this.keyring.ready(appId, { versions: [version] });
    const next = `${file}.reseal`;
    try {
      await pipeline(createReadStream(file), this.keyring.decryptFile(appId, fileId), this.keyring.encryptFile(appId, fileId), createWriteStream(next, { mode: 0o600 }));
      await rename(next, file);
    } catch (err) {
      await rm(next, { force: true });
      throw err;
    }
    return true;
  }

  /** Rows written by a node that had not yet seen the new key are still old: walk again until none are. */
  private async check(job: JobRow, target: number): Promise<boolean> {
    let left = 0;
    for (const c of COLUMNS) left += await this.countRemaining(c, job.app_id, target);
    const now = Date.now();
    // A row that does not open cannot be re-sealed: after a few passes the job ends, and status shows what remains.
    const set = left > 0 && Number(job.passes) < MAX_PASSES ? { phase: PHASES[0], cursor: null, passes: Number(job.passes) + 1, updated_at: now } : { phase: 'done', state: 'done', finished_at: now, updated_at: now };
    await this.db.updateTable('encryption_jobs').set(set).where('app_id', '=', job.app_id).where('started_at', '=', job.started_at).execute();
    return true;
  }

  private async countRemaining(c: Column, appId: string, target: number): Promise<number> {
    let query = this.db
      .selectFrom(c.table)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('app_id', '=', appId)
      .where(sql`substr(${sql.ref(c.column)}, 1, ${ENVELOPE_PREFIX.length + String(target).length + 1})`, '!=', `${ENVELOPE_PREFIX}${target}.`);
    if (c.empty !== undefined) query = query.where(c.column, '!=', c.empty);
    const row = await query.executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
