import { z } from 'zod';

// Evaluation datasets: a slice of an agent's real conversations kept as items
// (the context it had and its live answer), replayed on demand against any
// routed model, and exported as OpenAI fine-tuning JSONL (docs/experiments.md, Datasets).

const ModelName = z.string().trim().min(1).max(200);
const Id = z.string().min(1).max(128);
/** Milliseconds since the epoch. */
const Instant = z.number().int().min(0).max(8_640_000_000_000_000);

/** How a support conversation ended, or that it went to a person on the way. */
export const DatasetOutcome = z.enum(['resolved_by_ai', 'resolved_by_human', 'handed_off']);
export type DatasetOutcome = z.infer<typeof DatasetOutcome>;

/** Most items one dataset holds, and most datasets an app keeps. */
export const DATASET_MAX_ITEMS = 1_000;
export const DATASETS_PER_APP = 50;

export const DatasetFilters = z.strictObject({
  agent_id: Id,
  /** Replies created at or after this instant (ms). */
  since: Instant.optional(),
  /** Replies created before this instant (ms). */
  until: Instant.optional(),
  /** Keep only replies someone rated so. */
  feedback: z.enum(['up', 'down']).optional(),
  /** Keep only replies in support conversations that ended (or went) so; any of those listed. */
  outcomes: z.array(DatasetOutcome).min(1).max(3).optional(),
  /** Earlier messages kept before the question (the history window). */
  history_messages: z.number().int().min(0).max(50).default(10),
});
export type DatasetFilters = z.output<typeof DatasetFilters>;

export const DatasetCreate = z.strictObject({
  name: z.string().trim().min(1).max(80),
  filters: DatasetFilters,
  max_items: z.number().int().min(1).max(DATASET_MAX_ITEMS).default(200),
});
export type DatasetCreate = z.input<typeof DatasetCreate>;
export type DatasetCreateParsed = z.output<typeof DatasetCreate>;

export const Dataset = z.object({
  id: z.string(),
  app_id: z.string(),
  name: z.string(),
  agent_id: z.string(),
  filters: DatasetFilters,
  item_count: z.number().int(),
  /** Items an export would keep: thumbs-up, or resolved by the AI (never a thumbs-down). */
  good_items: z.number().int(),
  created_at: z.number().int(),
});
export type Dataset = z.infer<typeof Dataset>;

export const ChatTurn = z.object({ role: z.enum(['user', 'assistant']), content: z.string() });
export type ChatTurn = z.infer<typeof ChatTurn>;

export const DatasetPassage = z.object({
  index: z.number().int(),
  title: z.string(),
  heading_path: z.array(z.string()),
  source: z.string(),
  text: z.string(),
});
export type DatasetPassage = z.infer<typeof DatasetPassage>;

/** One evaluation case: what the agent had in front of it, and what it answered live (the reference). */
export const DatasetItem = z.object({
  id: z.string(),
  conversation_id: z.string(),
  message_id: z.string(),
  system_prompt: z.string(),
  history: z.array(ChatTurn),
  passages: z.array(DatasetPassage),
  question: z.string(),
  reference: z.string(),
  reference_model: z.string().nullable(),
  feedback: z.enum(['up', 'down']).nullable(),
  outcome: z.string().nullable(),
  handed_off: z.boolean(),
  created_at: z.number().int(),
});
export type DatasetItem = z.infer<typeof DatasetItem>;

export const DatasetRunCreate = z.strictObject({
  model: ModelName,
  /** Judges grounding and preference against the reference, both orders; optional. */
  judge_model: ModelName.optional(),
  /** What this run (replies and judge) may spend, in USD; never an agent's budget. */
  budget_usd: z.number().positive().max(10_000).default(1),
  system_prompt: z.string().max(20_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
});
export type DatasetRunCreate = z.input<typeof DatasetRunCreate>;
export type DatasetRunCreateParsed = z.output<typeof DatasetRunCreate>;

const Interval = z.tuple([z.number(), z.number()]).nullable();
const MeanFigure = z.object({ n: z.number().int(), mean: z.number().nullable(), ci: Interval });
const RateFigure = z.object({ n: z.number().int(), k: z.number().int(), rate: z.number().nullable(), ci: Interval });
const Difference = z.object({ estimate: z.number(), ci: Interval, p: z.number() }).nullable();

export const DatasetRunSummary = z.object({
  items: z.number().int(),
  answered: z.number().int(),
  failure_rate: RateFigure,
  cost_usd: MeanFigure,
  total_cost_usd: z.number(),
  judge_cost_usd: z.number(),
  ttft_ms: MeanFigure,
  latency_ms: MeanFigure,
  output_tokens: MeanFigure,
  /** Lexical support by the item's passages: the candidate's, the reference's, and the difference (Welch). */
  grounding: z.object({ candidate: MeanFigure, reference: MeanFigure, difference: Difference }),
  citations: z.object({ candidate: RateFigure, reference: RateFigure, difference: Difference }),
  judge_grounded: RateFigure,
  /** Candidate against the reference, asked in both orders: a win counts only when both orders agree. */
  preference: z.object({ wins: z.number().int(), losses: z.number().int(), ties: z.number().int(), win_rate: RateFigure, p: z.number().nullable() }),
});
export type DatasetRunSummary = z.infer<typeof DatasetRunSummary>;

export const DatasetRunStatus = z.enum(['running', 'done', 'stopped', 'interrupted']);

export const DatasetRun = z.object({
  id: z.string(),
  dataset_id: z.string(),
  model: z.string(),
  judge_model: z.string().nullable(),
  budget_usd: z.number(),
  spent_usd: z.number(),
  status: DatasetRunStatus,
  stopped_reason: z.string().nullable(),
  /** Items the run did not reach because the budget would have been passed. */
  skipped_budget: z.number().int(),
  summary: DatasetRunSummary,
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type DatasetRun = z.infer<typeof DatasetRun>;

export const DatasetResult = z.object({
  item_id: z.string(),
  model: z.string(),
  answer: z.string(),
  failed: z.boolean(),
  error: z.string().nullable(),
  cost_usd: z.number().nullable(),
  judge_cost_usd: z.number(),
  ttft_ms: z.number().nullable(),
  latency_ms: z.number(),
  output_tokens: z.number().int(),
  support: z.number().nullable(),
  cited: z.boolean(),
  judge_grounded: z.boolean().nullable(),
  /** 1: the candidate beat the reference in both orders; -1: lost in both; 0: tie or split; null: not judged. */
  preference: z.number().int().nullable(),
});
export type DatasetResult = z.infer<typeof DatasetResult>;

// REST answers of /api/datasets (decision 0032).

/** A page of items or results: `after` is the previous page's `next`. */
export const DatasetPageQuery = z.object({ after: z.string().min(1).max(128).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });

export const DatasetList = z.object({ datasets: z.array(Dataset) });
export type DatasetList = z.infer<typeof DatasetList>;

/** A page of items; `next` is the `after` of the next page, null on the last. */
export const DatasetItemPage = z.object({ items: z.array(DatasetItem), next: z.string().nullable() });
export type DatasetItemPage = z.infer<typeof DatasetItemPage>;

export const DatasetRunList = z.object({ runs: z.array(DatasetRun) });
export type DatasetRunList = z.infer<typeof DatasetRunList>;

/** A page of a run's results; `next` is the `after` of the next page, null on the last. */
export const DatasetResultPage = z.object({ results: z.array(DatasetResult), next: z.string().nullable() });
export type DatasetResultPage = z.infer<typeof DatasetResultPage>;
