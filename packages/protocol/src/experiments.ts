import { z } from 'zod';

// Model experiments: shadow runs and A/B splits of an agent's traffic, and the
// switching report that says whether a candidate is worth it (docs/experiments.md).

const ModelName = z.string().trim().min(1).max(200);
const Name = z.string().trim().min(1).max(80);

/** Another model or other settings for the same agent. */
export const ExperimentCandidateInput = z.strictObject({
  name: Name.optional(),
  model: ModelName,
  /** Replaces the agent's system prompt for this candidate. */
  system_prompt: z.string().max(20_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /**
   * Knowledge bases for an A/B candidate's live answers. A shadow replay keeps
   * the live turn's retrieved passages (the same context), so it does not search.
   */
  knowledge_base_ids: z.array(z.string().min(1).max(128)).max(20).optional(),
  /** Shadow: the share of sampled turns replayed to it. A/B: the share of new conversations it answers. */
  share: z.number().min(0).max(1).default(1),
});
export type ExperimentCandidateInput = z.infer<typeof ExperimentCandidateInput>;

export const ExperimentMode = z.enum(['shadow', 'ab']);
export type ExperimentMode = z.infer<typeof ExperimentMode>;

/** When an A/B candidate is stopped by itself: each rate is over the candidate's own live turns. */
export const ExperimentGuards = z.strictObject({
  max_error_rate: z.number().min(0).max(1).default(0.2),
  max_negative_feedback_rate: z.number().min(0).max(1).default(0.3),
  max_handoff_rate: z.number().min(0).max(1).default(0.5),
  /** Turns a candidate answers before a guard may trip, so one early failure does not stop it. */
  min_turns: z.number().int().min(1).max(10_000).default(20),
});
export type ExperimentGuards = z.infer<typeof ExperimentGuards>;

/** What an experiment runs on: an agent's replies, or (shadow only) the /v1 chat calls that name a model on the gateway. */
export const ROUTE_SUBJECT_PREFIX = 'route:';

export const ExperimentCreate = z.strictObject({
  /** The agent whose replies are compared; or give `route` instead. */
  agent_id: z.string().min(1).max(128).optional(),
  /** A gateway model (route) whose /v1 chat completions are shadowed: the requests as sent, replayed to the candidates. */
  route: ModelName.optional(),
  name: Name,
  mode: ExperimentMode,
  candidates: z.array(ExperimentCandidateInput).min(1).max(4),
  /** Share of live turns replayed (shadow). */
  sample_rate: z.number().min(0).max(1).default(0.1),
  /** Most replayed turns a minute, whatever the traffic. */
  max_turns_per_minute: z.number().int().min(1).max(6_000).default(60),
  /** What shadow replays and judging may spend a day (UTC), in USD; never the agent's budget. */
  daily_budget_usd: z.number().positive().max(100_000).default(5),
  /** A model that judges grounding and pairwise preference; without one, grounding is the lexical score alone. */
  judge_model: ModelName.optional(),
  /** The smallest change in a rate (failure, citation) or in the grounding score the report must be able to see. */
  min_detectable_effect: z.number().min(0.01).max(0.5).default(0.05),
  guards: ExperimentGuards.default({ max_error_rate: 0.2, max_negative_feedback_rate: 0.3, max_handoff_rate: 0.5, min_turns: 20 }),
})
  .refine((e) => (e.agent_id === undefined) !== (e.route === undefined), { message: 'Name either agent_id (an agent\'s replies) or route (a gateway model\'s /v1 calls), not both.', path: ['agent_id'] })
  .refine((e) => e.route === undefined || e.mode === 'shadow', { message: 'A gateway route runs in shadow mode only: /v1 clients asked for a model and get it.', path: ['mode'] });
export type ExperimentCreate = z.input<typeof ExperimentCreate>;
export type ExperimentCreateParsed = z.output<typeof ExperimentCreate>;

export const ExperimentStatus = z.enum(['running', 'stopped']);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const ExperimentCandidate = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  system_prompt: z.string().optional(),
  temperature: z.number().optional(),
  knowledge_base_ids: z.array(z.string()).optional(),
  share: z.number(),
  /** Set when a guard or the kill switch stopped it (A/B). */
  stopped_reason: z.string().nullable(),
});
export type ExperimentCandidate = z.infer<typeof ExperimentCandidate>;

export const Experiment = z.object({
  id: z.string(),
  app_id: z.string(),
  /** The agent, or `route:<model>` for a gateway route's experiment. */
  agent_id: z.string().describe('The agent, or route:<model> for a gateway route\'s experiment'),
  /** The gateway model whose /v1 calls are shadowed; null for an agent's experiment. */
  route: z.string().nullable().describe("The gateway model whose /v1 calls are shadowed; null for an agent's experiment"),
  name: z.string(),
  mode: ExperimentMode,
  status: ExperimentStatus,
  stopped_reason: z.string().nullable(),
  candidates: z.array(ExperimentCandidate),
  sample_rate: z.number(),
  max_turns_per_minute: z.number(),
  daily_budget_usd: z.number(),
  judge_model: z.string().nullable(),
  min_detectable_effect: z.number(),
  guards: ExperimentGuards,
  /** What shadow work spent today (UTC), in USD. */
  spent_today_usd: z.number().describe('What shadow work spent today (UTC), in USD'),
  /** Live turns seen since the experiment started, and turns left out: queue full, over budget or over the rate. */
  counters: z.object({ live_turns: z.number().int(), replayed: z.number().int(), dropped_queue_full: z.number().int(), skipped_budget: z.number().int(), skipped_rate: z.number().int() }),
  created_at: z.number(),
  updated_at: z.number(),
});
export type Experiment = z.infer<typeof Experiment>;

export const ExperimentList = z.object({ experiments: z.array(Experiment) });
export type ExperimentList = z.infer<typeof ExperimentList>;

export const ExperimentListQuery = z.object({ agent_id: z.string().min(1).max(128).optional() });

export const ExperimentStop = z.strictObject({
  /** Stop one candidate (the kill switch of an A/B split); without it the whole experiment stops. */
  candidate_id: z.string().min(1).max(128).optional(),
  reason: z.string().trim().max(500).optional(),
});
export type ExperimentStop = z.infer<typeof ExperimentStop>;

const Interval = z.tuple([z.number(), z.number()]).nullable();

/** An estimate with its 95% interval and sample size. */
export const MetricEstimate = z.object({ n: z.number().int(), value: z.number().nullable(), ci: Interval });
export type MetricEstimate = z.infer<typeof MetricEstimate>;

/** Candidate minus live, with the test that says whether it is real. */
export const MetricDifference = z.object({
  estimate: z.number().nullable(),
  ci: Interval,
  p: z.number().nullable(),
  test: z.enum(['welch_t', 'two_proportion_z', 'sign_test']),
  significant: z.boolean(),
});
export type MetricDifference = z.infer<typeof MetricDifference>;

export const MetricName = z.enum([
  'cost_per_turn_usd', 'ttft_ms', 'latency_ms', 'output_tokens', 'failure_rate',
  'grounding_score', 'citation_rate', 'judge_grounded_rate', 'negative_feedback_rate', 'handoff_rate',
  'resolution_rate', 'csat', 'reopen_rate',
]);
export type MetricName = z.infer<typeof MetricName>;

export const MetricComparison = z.object({
  metric: MetricName,
  /** Which way is better for the customer or the bill. */
  better: z.enum(['lower', 'higher']),
  live: MetricEstimate,
  candidate: MetricEstimate,
  difference: MetricDifference,
});
export type MetricComparison = z.infer<typeof MetricComparison>;

export const SwitchVerdict = z.enum(['recommend', 'reject', 'keep_current', 'not_enough_data']);
export type SwitchVerdict = z.infer<typeof SwitchVerdict>;

export const CostFigure = z.object({
  /** In the provider's currency, as text (exact), and converted to USD. */
  currency: z.string(),
  amount: z.string().describe("In the provider's currency, exact, as a decimal string"),
  usd: z.number().nullable(),
});
export type CostFigure = z.infer<typeof CostFigure>;

export const CandidateReport = z.object({
  candidate_id: z.string(),
  name: z.string(),
  model: z.string(),
  stopped_reason: z.string().nullable(),
  turns: z.number().int(),
  verdict: SwitchVerdict,
  recommendation: z.string(),
  /** Turns the report still needs (from its power calculation); 0 when it has enough. */
  more_turns_needed: z.number().int().describe('Turns the report still needs (from its power calculation); 0 when it has enough'),
  required_turns: z.number().int(),
  metrics: z.array(MetricComparison),
  preference: z.object({ wins: z.number().int(), losses: z.number().int(), ties: z.number().int(), win_rate: MetricEstimate, p: z.number().nullable(), significant: z.boolean() }).nullable(),
  cost: z.object({
    live_per_1000_turns: z.array(CostFigure),
    candidate_per_1000_turns: z.array(CostFigure),
    /** Relative change of the cost per turn (candidate vs live), with its 95% interval. */
    change: z.object({ estimate: z.number().nullable(), ci: Interval }),
    monthly_live_usd: z.number().nullable(),
    monthly_candidate_usd: z.number().nullable(),
    /** A/B on support conversations: what each arm spent per conversation the AI resolved, in USD (null without one). */
    live_per_resolved_usd: z.number().nullable().optional(),
    candidate_per_resolved_usd: z.number().nullable().optional(),
    /** The same, in each currency the arm was billed in (exact), with its USD conversion. */
    live_per_resolved: z.array(CostFigure).optional(),
    candidate_per_resolved: z.array(CostFigure).optional(),
  }),
});
export type CandidateReport = z.infer<typeof CandidateReport>;

/** Languages the switching report's sentences come in. */
export const ReportLocale = z.enum(['en', 'zh-CN']);
export type ReportLocale = z.infer<typeof ReportLocale>;

export const SwitchingReport = z.object({
  experiment_id: z.string(),
  agent_id: z.string(),
  agent_name: z.string(),
  mode: ExperimentMode,
  live_model: z.string(),
  generated_at: z.number(),
  /** The language of each candidate's `recommendation`. */
  locale: ReportLocale,
  /** Live turns a day at the current volume (from the turns the experiment saw), for the monthly projection. */
  turns_per_day: z.number().describe('Live turns a day at the current volume, for the monthly projection'),
  candidates: z.array(CandidateReport),
});
export type SwitchingReport = z.infer<typeof SwitchingReport>;

export const ExperimentReportQuery = z.object({ format: z.enum(['json', 'csv']).default('json'), locale: ReportLocale.optional() });
