// Evaluation datasets of an app: cut from real conversations, replayed on
// demand, exported for fine-tuning (docs/experiments.md, Datasets).
import {
  DATASETS_PER_APP, DatasetFilters, type Dataset, type DatasetCreateParsed, type DatasetItem, type DatasetResult, type DatasetRun,
  type DatasetRunCreateParsed,
} from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import type { DatasetItemRow, DatasetResultRow, DatasetRow, DatasetRunRow, DatasetStore } from './dataset-store.ts';
import { fineTuningLine } from './fine-tuning-export.ts';
import { collectItems, isGood, type ConversationSource, type ItemData } from './items-from-conversations.ts';
import { DatasetRunner, rowId, type RunSettings } from './runs.ts';
import { runSummary } from './summary.ts';

export interface DatasetsDeps {
  store: DatasetStore;
  source: ConversationSource;
  runner: DatasetRunner;
  /** Models the router serves: a run names one of them. */
  models: () => readonly string[];
  now: () => number;
}

/** Runs under way at once per app, across its datasets. */
const RUNS_PER_APP = 2;
const usd = (nanos: number) => Math.round(nanos / 1e3) / 1e6;

export class Datasets {
  constructor(private readonly deps: DatasetsDeps) {}

  /** Marks runs a stopped process left running as interrupted (they do not resume). */
  async start(): Promise<void> {
    await this.deps.store.interruptRunning(this.deps.now());
  }

  close(): Promise<void> {
    return this.deps.runner.close();
  }

  async create(appId: string, input: DatasetCreateParsed): Promise<Dataset> {
    if (!this.deps.source.agent(appId, input.filters.agent_id)) {
      throw new WarblerError('not_found', `No agent ${input.filters.agent_id} in this app; check the agent's id (GET /api/agents).`);
    }
    const { since, until } = input.filters;
    if (since !== undefined && until !== undefined && since >= until) throw new WarblerError('bad_request', 'since must be before until (both in milliseconds since the epoch).');
    if ((await this.deps.store.count(appId)) >= DATASETS_PER_APP) {
      throw new WarblerError('rate_limited', `This app already keeps ${DATASETS_PER_APP} datasets, the most it may; delete one before making another.`);
    }
    const collected = await collectItems(this.deps.source, appId, input.filters, input.max_items);
    const now = this.deps.now();
    const items: DatasetItemRow[] = collected.map((c) => ({
      app_id: appId, id: rowId('dsi'), dataset_id: '', conversation_id: c.conversation_id, message_id: c.message_id, feedback: c.feedback,
      outcome: c.outcome, handed_off: c.handed_off, good: isGood(c), data: JSON.stringify(c.data), created_at: c.created_at,
    }));
    const row: DatasetRow = {
      app_id: appId, id: rowId('ds'), name: input.name, agent_id: input.filters.agent_id, filters: JSON.stringify(input.filters),
      item_count: items.length, good_items: items.filter((i) => i.good).length, created_at: now,
    };
    for (const item of items) item.dataset_id = row.id;
    await this.deps.store.insert(row, items);
    return view(row);
  }

  async list(appId: string): Promise<Dataset[]> {
    return (await this.deps.store.list(appId)).map(view);
  }

  async get(appId: string, id: string): Promise<Dataset> {
    return view(await this.dataset(appId, id));
  }

  /** Deletes a dataset, its items and its runs; a run under way on it is refused. */
  async delete(appId: string, id: string): Promise<void> {
    const runs = await this.deps.store.runs(appId, id);
    if (runs.some((r) => r.status === 'running' && this.deps.runner.live(r.id))) {
      throw new WarblerError('conflict', 'A run of this dataset is under way; delete the dataset once it has ended.');
    }
    if (!(await this.deps.store.delete(appId, id))) throw new WarblerError('not_found', `No dataset ${id} in this app; GET /api/datasets lists them.`);
  }

  async items(appId: string, id: string, page: { after?: string; limit: number }): Promise<{ items: DatasetItem[]; next: string | null }> {
    await this.dataset(appId, id);
    const rows = await this.deps.store.items(appId, id, { ...(page.after && { after: page.after }), limit: page.limit + 1 });
    const items = rows.slice(0, page.limit).map(itemView);
    return { items, next: rows.length > page.limit ? items.at(-1)!.id : null };
  }

  async run(appId: string, id: string, input: DatasetRunCreateParsed): Promise<DatasetRun> {
    const dataset = await this.dataset(appId, id);
    const models = this.deps.models();
    for (const [field, model] of [['model', input.model], ['judge_model', input.judge_model]] as const) {
      if (model !== undefined && !models.includes(model)) {
        throw new WarblerError('bad_request', `${field} ${model} is not a routed model; add it under Providers & models, or pick one of: ${models.slice(0, 20).join(', ')}.`);
      }
    }
    if (dataset.item_count === 0) throw new WarblerError('bad_request', 'This dataset has no items, so there is nothing to run; make one with wider filters.');
    if (this.deps.runner.running(appId) >= RUNS_PER_APP) {
      throw new WarblerError('conflict', `This app already has ${RUNS_PER_APP} dataset runs under way; wait for one to end.`);
    }
    const settings: RunSettings = {
      model: input.model, judge_model: input.judge_model ?? null, budget_usd: input.budget_usd,
      ...(input.system_prompt !== undefined && { system_prompt: input.system_prompt }),
      ...(input.temperature !== undefined && { temperature: input.temperature }),
    };
    const now = this.deps.now();
    const row: DatasetRunRow = {
      app_id: appId, id: rowId('dsrun'), dataset_id: id, settings: JSON.stringify(settings), status: 'running', stopped_reason: null,
      spent_usd_nanos: 0, skipped_budget: 0, created_at: now, updated_at: now,
    };
    await this.deps.store.insertRun(row);
    this.deps.runner.start({ ...row }, settings);
    return this.runView(row, dataset.item_count, []);
  }

  async runs(appId: string, id: string): Promise<DatasetRun[]> {
    const dataset = await this.dataset(appId, id);
    const rows = await this.deps.store.runs(appId, id);
    return Promise.all(rows.map(async (r) => this.runView(r, dataset.item_count, await this.allResults(appId, r.id))));
  }

  async getRun(appId: string, id: string, runId: string): Promise<DatasetRun> {
    const dataset = await this.dataset(appId, id);
    const row = await this.runRow(appId, id, runId);
    return this.runView(row, dataset.item_count, await this.allResults(appId, runId));
  }

  async results(appId: string, id: string, runId: string, page: { after?: string; limit: number }): Promise<{ results: DatasetResult[]; next: string | null }> {
    await this.runRow(appId, id, runId);
    const rows = await this.deps.store.results(appId, runId, { ...(page.after && { after: page.after }), limit: page.limit + 1 });
    const shown = rows.slice(0, page.limit);
    return { results: shown.map(resultView), next: rows.length > page.limit ? shown.at(-1)!.id : null };
  }

  /** The good items as fine-tuning JSONL lines, PII masked. */
  async *exportLines(appId: string, id: string): AsyncGenerator<string> {
    await this.dataset(appId, id);
    let after: string | undefined;
    for (;;) {
      const rows = await this.deps.store.items(appId, id, { ...(after && { after }), limit: 200, good: true });
      if (rows.length === 0) return;
      for (const row of rows) yield `${fineTuningLine(JSON.parse(row.data) as ItemData)}\n`;
      after = rows.at(-1)!.id;
    }
  }

  /** Resolves when a run has ended (tests). */
  settled(runId: string): Promise<void> {
    return this.deps.runner.settled(runId);
  }

  private async dataset(appId: string, id: string): Promise<DatasetRow> {
    const row = await this.deps.store.get(appId, id);
    if (!row) throw new WarblerError('not_found', `No dataset ${id} in this app; GET /api/datasets lists them.`);
    return row;
  }

  private async runRow(appId: string, id: string, runId: string): Promise<DatasetRunRow> {
    const row = await this.deps.store.getRun(appId, runId);
    if (!row || row.dataset_id !== id) throw new WarblerError('not_found', `No run ${runId} of dataset ${id}; GET /api/datasets/${id}/runs lists them.`);
    return row;
  }

  private async allResults(appId: string, runId: string): Promise<DatasetResultRow[]> {
    const out: DatasetResultRow[] = [];
    for (;;) {
      const page = await this.deps.store.results(appId, runId, { ...(out.length > 0 && { after: out.at(-1)!.id }), limit: 500 });
      out.push(...page);
      if (page.length < 500) return out;
    }
  }

  private runView(row: DatasetRunRow, items: number, results: DatasetResultRow[]): DatasetRun {
    const settings = JSON.parse(row.settings) as RunSettings;
    const spent = this.deps.runner.live(row.id)?.spent ?? row.spent_usd_nanos;
    return {
      id: row.id, dataset_id: row.dataset_id, model: settings.model, judge_model: settings.judge_model, budget_usd: settings.budget_usd,
      spent_usd: usd(spent), status: row.status, stopped_reason: row.stopped_reason, skipped_budget: row.skipped_budget,
      summary: runSummary(items, results), created_at: row.created_at, updated_at: row.updated_at,
    };
  }
}

function view(row: DatasetRow): Dataset {
  return {
    id: row.id, app_id: row.app_id, name: row.name, agent_id: row.agent_id, filters: DatasetFilters.parse(JSON.parse(row.filters)),
    item_count: row.item_count, good_items: row.good_items, created_at: row.created_at,
  };
}

function itemView(row: DatasetItemRow): DatasetItem {
  const data = JSON.parse(row.data) as ItemData;
  return {
    id: row.id, conversation_id: row.conversation_id, message_id: row.message_id, ...data, feedback: row.feedback, outcome: row.outcome,
    handed_off: row.handed_off, created_at: row.created_at,
  };
}

function resultView(row: DatasetResultRow): DatasetResult {
  return {
    item_id: row.item_id, model: row.model, answer: row.answer, failed: row.failed, error: row.error,
    cost_usd: row.cost_usd_nanos === null ? null : usd(row.cost_usd_nanos), judge_cost_usd: usd(row.judge_usd_nanos), ttft_ms: row.ttft_ms,
    latency_ms: row.latency_ms, output_tokens: row.output_tokens, support: row.support, cited: row.cited, judge_grounded: row.judge_grounded,
    preference: row.preference,
  };
}
