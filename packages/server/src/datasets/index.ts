// The datasets room: evaluation sets cut from an agent's real conversations
// (filters: agent, dates, thumbs, support outcome), replayed on demand
// against any routed model with its own budget (`source = eval` in the
// ledger), exported as OpenAI fine-tuning JSONL with personal data masked, and
// the /v1/fine_tuning/jobs pass-through to OpenAI (docs/experiments.md, Datasets).
// Wiring (app.ts): const { datasets, fineTuning } = buildDatasets({...}); await datasets.start();
//   HttpDeps.datasets = datasets, HttpDeps.fineTuning = fineTuning; shutdown: await datasets.close() before the ledger closes.
import type { Kysely } from 'kysely';
import type { ModelPrice } from '../llm/index.ts';
import type { RowSealer } from '../store/index.ts';
import type { CurrencyRates } from '../usage/index.ts';
import { DatasetStore } from './dataset-store.ts';
import { Datasets } from './datasets.ts';
import { FineTuningJobs, type FineTuningUpstream } from './fine-tuning-jobs.ts';
import type { ConversationSource } from './items-from-conversations.ts';
import { DatasetRunner, type EvalRouter } from './runs.ts';

export { Datasets } from './datasets.ts';
export { FineTuningJobs, type FineTuningUpstream } from './fine-tuning-jobs.ts';
export type { ConversationSource } from './items-from-conversations.ts';

export interface DatasetsRoomDeps {
  db: Kysely<any>;
  /** Encryption at rest: item text and replayed answers are sealed like message content. */
  sealer: RowSealer;
  source: ConversationSource;
  router: EvalRouter;
  prices: { lookup(model: string): ModelPrice | undefined };
  rates: () => Pick<CurrencyRates, 'toUsdNanos'>;
  /** The OpenAI provider fine-tuning goes to, when there is one. */
  openAi: () => FineTuningUpstream | undefined;
  onError: (err: unknown, where: string) => void;
  now?: () => number;
  concurrency?: number;
}

export function buildDatasets(deps: DatasetsRoomDeps): { datasets: Datasets; fineTuning: FineTuningJobs } {
  const now = deps.now ?? Date.now;
  const store = new DatasetStore(deps.db, deps.sealer);
  const runner = new DatasetRunner({
    store, router: deps.router, prices: deps.prices, rates: deps.rates, onError: deps.onError, now,
    ...(deps.concurrency !== undefined && { concurrency: deps.concurrency }),
  });
  return {
    datasets: new Datasets({ store, source: deps.source, runner, models: () => deps.router.models(), now }),
    fineTuning: new FineTuningJobs({ store, upstream: deps.openAi, now }),
  };
}
