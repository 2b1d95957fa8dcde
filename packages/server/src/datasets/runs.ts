// Replays a dataset against a model on demand: each item's prompt through the
// router (the experiments room's replay, tools never run), lexical grounding
// against the item's passages, and, with a judge model, grounding and a
// preference against the reference asked in both orders. Every call is in
// the ledger as `source = eval` with no agent, paid from the run's own budget:
// before each call the run holds back the dearest call so far for every call
// under way, so it stops at its budget, not after it.
import { randomBytes } from 'node:crypto';
import { costOf, emptyUsage, type ChatRequest, type LlmProvider, type ModelPrice, type RouterCallOptions, type Usage } from '../llm/index.ts';
import { judgeGrounding, judgePreference, lexicalGrounding, replayTurn, type AskJudge, type LiveTurn } from '../experiments/index.ts';
import type { CurrencyRates } from '../usage/index.ts';
import type { DatasetItemRow, DatasetResultRow, DatasetRunRow, DatasetStore } from './dataset-store.ts';
import type { ItemData } from './items-from-conversations.ts';
import { promptOf } from './prompt.ts';

export type EvalRouter = LlmProvider & {
  chat(request: ChatRequest, options?: RouterCallOptions): ReturnType<LlmProvider['chat']>;
  complete(request: ChatRequest, options?: RouterCallOptions): ReturnType<LlmProvider['complete']>;
  models(): string[];
};

export interface RunSettings {
  model: string;
  judge_model: string | null;
  budget_usd: number;
  system_prompt?: string;
  temperature?: number;
}

export interface RunnerDeps {
  store: DatasetStore;
  router: EvalRouter;
  prices: { lookup(model: string): ModelPrice | undefined };
  rates: () => Pick<CurrencyRates, 'toUsdNanos'>;
  onError: (err: unknown, where: string) => void;
  now: () => number;
  /** Items replayed at once after the first (which goes alone, to learn what a call costs). Default 4. */
  concurrency?: number;
}

interface Active {
  row: DatasetRunRow;
  settings: RunSettings;
  spent: number;
  /** The most one call has cost so far (nano-USD): held back for each call under way. */
  reserve: number;
  inFlight: number;
  stopping: boolean;
  done: Promise<void>;
}

const ITEM_PAGE = 200;

export class DatasetRunner {
  private readonly active = new Map<string, Active>();

  constructor(private readonly deps: RunnerDeps) {}

  running(appId: string): number {
    return [...this.active.values()].filter((a) => a.row.app_id === appId).length;
  }

  /** Live figures of a run under way on this node. */
  live(runId: string): { spent: number } | undefined {
    const a = this.active.get(runId);
    return a && { spent: a.spent };
  }

  start(row: DatasetRunRow, settings: RunSettings): void {
    const run: Active = { row, settings, spent: 0, reserve: 0, inFlight: 0, stopping: false, done: Promise.resolve() };
    this.active.set(row.id, run);
    run.done = this.execute(run)
      .catch(async (err) => {
        this.deps.onError(err, `dataset run ${row.id}`);
        await this.finish(run, 'stopped', 'the run failed; see the server log').catch(() => {});
      })
      .finally(() => this.active.delete(row.id));
  }

  /** Resolves when the run has ended (tests). */
  async settled(runId: string): Promise<void> {
    await this.active.get(runId)?.done;
  }

  /** Lets calls under way end, takes no new item, and marks the runs interrupted. */
  async close(): Promise<void> {
    for (const run of this.active.values()) run.stopping = true;
    await Promise.all([...this.active.values()].map((r) => r.done));
  }

  private async execute(run: Active): Promise<void> {
    const { app_id: appId, dataset_id: datasetId } = run.row;
    let after: string | undefined;
    let first = true;
    for (;;) {
      const items = await this.deps.store.items(appId, datasetId, { ...(after && { after }), limit: ITEM_PAGE });
      if (items.length === 0) break;
      after = items.at(-1)!.id;
      const queue = [...items];
      // The first item goes alone: until one call is priced, nothing says how much to hold back.
      if (first) {
        first = false;
        await this.item(run, queue.shift()!);
      }
      const workers = Array.from({ length: this.deps.concurrency ?? 4 }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) await this.item(run, item);
      });
      await Promise.all(workers);
      if (run.stopping) break;
    }
    if (run.stopping) return this.finish(run, 'interrupted', 'the server stopped during the run');
    await this.finish(run, run.row.skipped_budget > 0 ? 'stopped' : 'done',
      run.row.skipped_budget > 0 ? `budget: $${run.settings.budget_usd} reached; ${run.row.skipped_budget} item(s) not run` : null);
  }

  private async item(run: Active, item: DatasetItemRow): Promise<void> {
    if (run.stopping) return;
    if (!this.canSpend(run)) {
      run.row.skipped_budget++;
      return;
    }
    const data = JSON.parse(item.data) as ItemData;
    const id = rowId('dsr');
    run.inFlight++;
    let result;
    try {
      result = await replayTurn(this.deps.router, liveTurnOf(run.row.app_id, item, data), {
        model: run.settings.model,
        ...(run.settings.system_prompt !== undefined && { system_prompt: run.settings.system_prompt }),
        ...(run.settings.temperature !== undefined && { temperature: run.settings.temperature }),
      }, this.context(run, id, 'eval_reply'));
    } finally {
      run.inFlight--;
    }
    const cost = this.usd(result.model, result.usage);
    this.spend(run, cost ?? 0);
    const texts = data.passages.map((p) => p.text);
    const grounding = lexicalGrounding(result.answer, texts);
    const reference = lexicalGrounding(data.reference, texts);
    const row: DatasetResultRow = {
      app_id: run.row.app_id, id, run_id: run.row.id, item_id: item.id, model: result.model, answer: result.answer, failed: result.failed,
      error: result.error, cost_usd_nanos: cost, judge_usd_nanos: 0, ttft_ms: result.ttft_ms, latency_ms: result.latency_ms,
      output_tokens: result.usage.completionTokens, support: result.failed ? null : grounding.support, reference_support: reference.support,
      cited: grounding.cited, reference_cited: reference.cited, judge_grounded: null, preference: null, created_at: this.deps.now(),
    };
    if (!result.failed) await this.judge(run, data, row);
    await this.deps.store.insertResult(row);
    await this.deps.store.updateRun(run.row.app_id, run.row.id, {
      spent_usd_nanos: Math.round(run.spent), skipped_budget: run.row.skipped_budget, updated_at: this.deps.now(),
    });
  }

  private async judge(run: Active, data: ItemData, row: DatasetResultRow): Promise<void> {
    const model = run.settings.judge_model;
    if (!model) return;
    const ask: AskJudge = async (messages) => {
      run.inFlight++;
      try {
        const done = await this.deps.router.complete({ model, messages, max_tokens: 8, temperature: 0 }, { context: this.context(run, row.id, 'judge') });
        const usd = this.usd(done.model ?? model, done.usage) ?? 0;
        this.spend(run, usd);
        return { text: done.text, usdNanos: usd };
      } finally {
        run.inFlight--;
      }
    };
    try {
      if (data.passages.length > 0 && this.canSpend(run)) {
        const g = await judgeGrounding(ask, data.question, data.passages.map((p) => p.text), row.answer);
        row.judge_grounded = g.grounded;
        row.judge_usd_nanos += g.usdNanos;
      }
      // Two calls (both orders), so room for two.
      if (this.canSpend(run, 2)) {
        const p = await judgePreference(ask, data.question, data.reference, row.answer);
        row.preference = p.preference;
        row.judge_usd_nanos += p.usdNanos;
      }
    } catch (err) {
      // A judge that fails leaves the item unjudged; the answer still counts.
      this.deps.onError(err, `dataset run ${run.row.id} judging`);
    }
  }

  /** The run's calls: no agent (no agent budget counts them), no conversation (no support cost), the result row as request id. */
  private context(run: Active, resultId: string, purpose: string) {
    return {
      source: 'eval', app_id: run.row.app_id, agent_id: null, user_id: null, conversation_id: null, message_id: null,
      request_id: resultId, purpose,
    };
  }

  private canSpend(run: Active, calls = 1): boolean {
    return run.spent + run.reserve * (run.inFlight + calls) < run.settings.budget_usd * 1e9;
  }

  private spend(run: Active, usdNanos: number): void {
    run.spent += usdNanos;
    run.reserve = Math.max(run.reserve, usdNanos);
  }

  /** nano-USD of a call; null when its currency has no rate. An unpriced model costs nothing here, as in the ledger. */
  private usd(model: string, usage: Usage): number | null {
    const price = this.deps.prices.lookup(model);
    if (!price) return 0;
    const c = costOf(usage, price);
    const usd = this.deps.rates().toUsdNanos(c.currency, BigInt(c.nanos));
    return usd === undefined ? null : Number(usd);
  }

  private async finish(run: Active, status: DatasetRunRow['status'], reason: string | null): Promise<void> {
    run.row.status = status;
    run.row.stopped_reason = reason;
    await this.deps.store.updateRun(run.row.app_id, run.row.id, {
      status, stopped_reason: reason, spent_usd_nanos: Math.round(run.spent), skipped_budget: run.row.skipped_budget, updated_at: this.deps.now(),
    });
  }
}

/** An item as the experiments room's replay takes a live turn: its prompt, no tools, the reference as the live answer. */
function liveTurnOf(appId: string, item: DatasetItemRow, data: ItemData): LiveTurn {
  return {
    app_id: appId, agent_id: '', conversation_id: item.conversation_id, message_id: item.message_id, user_id: '', question: data.question,
    messages: promptOf(data), tools: [], tool_results: [], passages: data.passages.map((p) => p.text), system_prompt: data.system_prompt,
    model: data.reference_model ?? '', answer: data.reference, usage: emptyUsage(), ttft_ms: null, latency_ms: 0, failed: false, error: null,
  };
}

export const rowId = (prefix: string) => `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(12).toString('base64url')}`;
