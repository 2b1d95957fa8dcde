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

export interface ExperimentCandidate {
  id: string;
  name: string;
  model: string;
  system_prompt?: string;
  temperature?: number;
  knowledge_base_ids?: string[];
  share: number;
  /** Set when a guard or the kill switch stopped it (A/B). */
  stopped_reason: string | null;
}

export interface Experiment {
  id: string;
  app_id: string;
  /** The agent, or `route:<model>` for a gateway route's experiment. */
  agent_id: string;
  /** The gateway model whose /v1 calls are shadowed; null for an agent's experiment. */
  route: string | null;
  name: string;
  mode: ExperimentMode;
  status: ExperimentStatus;
  stopped_reason: string | null;
  candidates: ExperimentCandidate[];
  sample_rate: number;
  max_turns_per_minute: number;
  daily_budget_usd: number;
  judge_model: string | null;
  min_detectable_effect: number;
  guards: ExperimentGuards;
  /** What shadow work spent today (UTC), in USD. */
  spent_today_usd: number;
  /** Live turns seen since the experiment started, and turns left out: queue full, over budget or over the rate. */
  counters: { live_turns: number; replayed: number; dropped_queue_full: number; skipped_budget: number; skipped_rate: number };
  created_at: number;
  updated_at: number;
}

export const ExperimentStop = z.strictObject({
  /** Stop one candidate (the kill switch of an A/B split); without it the whole experiment stops. */
  candidate_id: z.string().min(1).max(128).optional(),
  reason: z.string().trim().max(500).optional(),
});
export type ExperimentStop = z.infer<typeof ExperimentStop>;

/** An estimate with its 95% interval and sample size. */
export interface MetricEstimate {
  n: number;
  value: number | null;
  ci: [number, number] | null;
}

/** Candidate minus live, with the test that says whether it is real. */
export interface MetricDifference {
  estimate: number | null;
  ci: [number, number] | null;
  p: number | null;
  test: 'welch_t' | 'two_proportion_z' | 'sign_test';
  significant: boolean;
}

export type MetricName =
  | 'cost_per_turn_usd' | 'ttft_ms' | 'latency_ms' | 'output_tokens' | 'failure_rate'
  | 'grounding_score' | 'citation_rate' | 'judge_grounded_rate' | 'negative_feedback_rate' | 'handoff_rate'
  | 'resolution_rate' | 'csat' | 'reopen_rate';

export interface MetricComparison {
  metric: MetricName;
  /** Which way is better for the customer or the bill. */
  better: 'lower' | 'higher';
  live: MetricEstimate;
  candidate: MetricEstimate;
  difference: MetricDifference;
}

export type SwitchVerdict = 'recommend' | 'reject' | 'keep_current' | 'not_enough_data';

export interface CostFigure {
  /** In the provider's currency, as text (exact), and converted to USD. */
  currency: string;
  amount: string;
  usd: number | null;
}

export interface CandidateReport {
  candidate_id: string;
  name: string;
  model: string;
  stopped_reason: string | null;
  turns: number;
  verdict: SwitchVerdict;
  recommendation: string;
  /** Turns the report still needs (from its power calculation); 0 when it has enough. */
  more_turns_needed: number;
  required_turns: number;
  metrics: MetricComparison[];
  preference: { wins: number; losses: number; ties: number; win_rate: MetricEstimate; p: number | null; significant: boolean } | null;
  cost: {
    live_per_1000_turns: CostFigure[];
    candidate_per_1000_turns: CostFigure[];
    /** Relative change of the cost per turn (candidate vs live), with its 95% interval. */
    change: { estimate: number | null; ci: [number, number] | null };
    monthly_live_usd: number | null;
    monthly_candidate_usd: number | null;
    /** A/B on support conversations: what each arm spent per conversation the AI resolved, in USD (null without one). */
    live_per_resolved_usd?: number | null;
    candidate_per_resolved_usd?: number | null;
    /** The same, in each currency the arm was billed in (exact), with its USD conversion. */
    live_per_resolved?: CostFigure[];
    candidate_per_resolved?: CostFigure[];
  };
}

/** Languages the switching report's sentences come in. */
export const ReportLocale = z.enum(['en', 'zh-CN']);
export type ReportLocale = z.infer<typeof ReportLocale>;

export interface SwitchingReport {
  experiment_id: string;
  agent_id: string;
  agent_name: string;
  mode: ExperimentMode;
  live_model: string;
  generated_at: number;
  /** The language of each candidate's `recommendation`. */
  locale: ReportLocale;
  /** Live turns a day at the current volume (from the turns the experiment saw), for the monthly projection. */
  turns_per_day: number;
  candidates: CandidateReport[];
}
