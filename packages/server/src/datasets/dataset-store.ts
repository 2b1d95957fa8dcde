import type { Kysely } from 'kysely';
import { PLAINTEXT, type RowSealer, type SealedField } from '../store/index.ts';

export interface DatasetRow {
  app_id: string;
  id: string;
  name: string;
  agent_id: string;
  /** DatasetFilters as JSON. */
  filters: string;
  item_count: number;
  good_items: number;
  created_at: number;
}

/** One item; `data` is ItemData as JSON, sealed at rest like message content. */
export interface DatasetItemRow {
  app_id: string;
  id: string;
  dataset_id: string;
  conversation_id: string;
  message_id: string;
  feedback: 'up' | 'down' | null;
  outcome: string | null;
  handed_off: boolean;
  /** Thumbs-up or resolved by the AI, and no thumbs-down: what the fine-tuning export keeps. */
  good: boolean;
  data: string;
  created_at: number;
}

export interface DatasetRunRow {
  app_id: string;
  id: string;
  dataset_id: string;
  /** RunSettings as JSON (model, judge, budget, prompt, temperature). */
  settings: string;
  status: 'running' | 'done' | 'stopped' | 'interrupted';
  stopped_reason: string | null;
  spent_usd_nanos: number;
  skipped_budget: number;
  created_at: number;
  updated_at: number;
}

/** One item replayed by a run; `answer` is sealed. */
export interface DatasetResultRow {
  app_id: string;
  id: string;
  run_id: string;
  item_id: string;
  model: string;
  answer: string;
  failed: boolean;
  error: string | null;
  cost_usd_nanos: number | null;
  judge_usd_nanos: number;
  ttft_ms: number | null;
  latency_ms: number;
  output_tokens: number;
  support: number | null;
  reference_support: number | null;
  cited: boolean;
  reference_cited: boolean;
  judge_grounded: boolean | null;
  preference: number | null;
  created_at: number;
}

type Flag = number;
interface Tables {
  datasets: DatasetRow;
  dataset_items: Omit<DatasetItemRow, 'handed_off' | 'good'> & { handed_off: Flag; good: Flag };
  dataset_runs: DatasetRunRow;
  dataset_results: Omit<DatasetResultRow, 'failed' | 'cited' | 'reference_cited' | 'judge_grounded'> & {
    failed: Flag; cited: Flag; reference_cited: Flag; judge_grounded: Flag | null;
  };
  fine_tuning_jobs: { app_id: string; id: string; key_id: string | null; created_at: number };
}

const ITEM_DATA: SealedField = 'dataset_items.data';
const RESULT_ANSWER: SealedField = 'dataset_results.answer';
const flag = (b: boolean): Flag => (b ? 1 : 0);
const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** The datasets room's tables (migration 0024_datasets). */
export class DatasetStore {
  private readonly db: Kysely<Tables>;

  constructor(db: Kysely<any>, private readonly sealer: RowSealer = PLAINTEXT) {
    this.db = db as Kysely<Tables>;
  }

  /** Seals one text column of rows of one app, as message content is sealed (encryption at rest). */
  private async seal<R extends { id: string }, C extends keyof R & string>(appId: string, field: SealedField, rows: readonly R[], column: C): Promise<R[]> {
    await this.sealer.ready(appId, { seal: true });
    return rows.map((r) => ({ ...r, [column]: this.sealer.seal(appId, field, r.id, r[column] as string) }));
  }

  private async open<R extends { id: string }, C extends keyof R & string>(appId: string, field: SealedField, rows: readonly R[], column: C): Promise<R[]> {
    await this.sealer.ready(appId, { stored: rows.map((r) => r[column] as string) });
    return rows.map((r) => ({ ...r, [column]: this.sealer.open(appId, field, r.id, r[column] as string) }));
  }

  async count(appId: string): Promise<number> {
    const row = await this.db.selectFrom('datasets').select((eb) => eb.fn.countAll().as('n')).where('app_id', '=', appId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** The dataset and its items, in one transaction: a dataset is never seen half built. */
  async insert(dataset: DatasetRow, items: DatasetItemRow[]): Promise<void> {
    const sealed = await this.seal(appIdOf(dataset), ITEM_DATA, items, 'data');
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('datasets').values(dataset).execute();
      for (let i = 0; i < sealed.length; i += 100) {
        await tx.insertInto('dataset_items')
          .values(sealed.slice(i, i + 100).map((r) => ({ ...r, handed_off: flag(r.handed_off), good: flag(r.good) })))
          .execute();
      }
    });
  }

  /** A dataset with its items, runs and results. */
  async delete(appId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const runs = (await tx.selectFrom('dataset_runs').select('id').where('app_id', '=', appId).where('dataset_id', '=', id).execute()).map((r) => r.id);
      if (runs.length > 0) await tx.deleteFrom('dataset_results').where('app_id', '=', appId).where('run_id', 'in', runs).execute();
      await tx.deleteFrom('dataset_runs').where('app_id', '=', appId).where('dataset_id', '=', id).execute();
      await tx.deleteFrom('dataset_items').where('app_id', '=', appId).where('dataset_id', '=', id).execute();
      const gone = await tx.deleteFrom('datasets').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
      return Number(gone.numDeletedRows) > 0;
    });
  }

  async get(appId: string, id: string): Promise<DatasetRow | undefined> {
    const row = await this.db.selectFrom('datasets').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && datasetOf(row);
  }

  async list(appId: string): Promise<DatasetRow[]> {
    return (await this.db.selectFrom('datasets').selectAll().where('app_id', '=', appId).orderBy('created_at', 'desc').limit(200).execute()).map(datasetOf);
  }

  /** Items in creation order, `after` an item id, opened. */
  async items(appId: string, datasetId: string, page: { after?: string; limit: number; good?: boolean }): Promise<DatasetItemRow[]> {
    let q = this.db.selectFrom('dataset_items').selectAll().where('app_id', '=', appId).where('dataset_id', '=', datasetId);
    if (page.after) q = q.where('id', '>', page.after);
    if (page.good) q = q.where('good', '=', 1);
    const rows = await q.orderBy('id').limit(page.limit).execute();
    const items = rows.map((r) => ({
      ...r, handed_off: num(r.handed_off) === 1, good: num(r.good) === 1, created_at: num(r.created_at),
    }));
    return this.open(appId, ITEM_DATA, items, 'data');
  }

  async insertRun(row: DatasetRunRow): Promise<void> {
    await this.db.insertInto('dataset_runs').values(row).execute();
  }

  async updateRun(appId: string, id: string, patch: Partial<Pick<DatasetRunRow, 'status' | 'stopped_reason' | 'spent_usd_nanos' | 'skipped_budget' | 'updated_at'>>): Promise<void> {
    await this.db.updateTable('dataset_runs').set(patch).where('app_id', '=', appId).where('id', '=', id).execute();
  }

  async getRun(appId: string, id: string): Promise<DatasetRunRow | undefined> {
    const row = await this.db.selectFrom('dataset_runs').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && runOf(row);
  }

  async runs(appId: string, datasetId: string): Promise<DatasetRunRow[]> {
    return (await this.db.selectFrom('dataset_runs').selectAll().where('app_id', '=', appId).where('dataset_id', '=', datasetId)
      .orderBy('created_at', 'desc').limit(100).execute()).map(runOf);
  }

  /** Runs left running by a process that stopped: they cannot resume, so they end as interrupted. */
  async interruptRunning(now: number): Promise<void> {
    await this.db.updateTable('dataset_runs').set({ status: 'interrupted', stopped_reason: 'the server stopped during the run', updated_at: now })
      .where('status', '=', 'running').execute();
  }

  async insertResult(row: DatasetResultRow): Promise<void> {
    const [sealed] = await this.seal(row.app_id, RESULT_ANSWER, [row], 'answer');
    await this.db.insertInto('dataset_results').values({
      ...sealed!, failed: flag(row.failed), cited: flag(row.cited), reference_cited: flag(row.reference_cited),
      judge_grounded: row.judge_grounded === null ? null : flag(row.judge_grounded),
    }).execute();
  }

  async results(appId: string, runId: string, page: { after?: string; limit: number }): Promise<DatasetResultRow[]> {
    let q = this.db.selectFrom('dataset_results').selectAll().where('app_id', '=', appId).where('run_id', '=', runId);
    if (page.after) q = q.where('id', '>', page.after);
    const rows = (await q.orderBy('id').limit(page.limit).execute()).map((r) => ({
      ...r, failed: num(r.failed) === 1, cited: num(r.cited) === 1, reference_cited: num(r.reference_cited) === 1,
      judge_grounded: r.judge_grounded === null ? null : num(r.judge_grounded) === 1,
      cost_usd_nanos: numOrNull(r.cost_usd_nanos), judge_usd_nanos: num(r.judge_usd_nanos), ttft_ms: numOrNull(r.ttft_ms),
      latency_ms: num(r.latency_ms), output_tokens: num(r.output_tokens), support: numOrNull(r.support),
      reference_support: numOrNull(r.reference_support), preference: numOrNull(r.preference), created_at: num(r.created_at),
    }));
    return this.open(appId, RESULT_ANSWER, rows, 'answer');
  }

  async addFineTuningJob(appId: string, id: string, keyId: string | null, now: number): Promise<void> {
    await this.db.insertInto('fine_tuning_jobs').values({ app_id: appId, id, key_id: keyId, created_at: now }).execute();
  }

  async ownsFineTuningJob(appId: string, id: string): Promise<boolean> {
    return (await this.db.selectFrom('fine_tuning_jobs').select('id').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  /** The app's jobs, newest first, after a job id (OpenAI's cursor). */
  async fineTuningJobs(appId: string, page: { after?: string; limit: number }): Promise<string[]> {
    let q = this.db.selectFrom('fine_tuning_jobs').select(['id', 'created_at']).where('app_id', '=', appId);
    if (page.after) {
      const cursor = await this.db.selectFrom('fine_tuning_jobs').select('created_at').where('app_id', '=', appId).where('id', '=', page.after).executeTakeFirst();
      if (!cursor) return [];
      const at = num(cursor.created_at);
      q = q.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', page.after!)])]));
    }
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute()).map((r) => r.id);
  }
}

const appIdOf = (row: { app_id: string }) => row.app_id;

function datasetOf(r: DatasetRow): DatasetRow {
  return { ...r, item_count: num(r.item_count), good_items: num(r.good_items), created_at: num(r.created_at) };
}

function runOf(r: DatasetRunRow): DatasetRunRow {
  return { ...r, spent_usd_nanos: num(r.spent_usd_nanos), skipped_budget: num(r.skipped_budget), created_at: num(r.created_at), updated_at: num(r.updated_at) };
}
