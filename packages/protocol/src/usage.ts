import { z } from 'zod';

// Usage and cost from the ledger: GET /api/usage and /api/usage/calls (decision 0032).

export const UsageGroupBy = z.enum(['day', 'model', 'agent', 'key', 'purpose']);
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

export const UsageQuery = z.object({
  group_by: UsageGroupBy.default('day'),
  from: z.coerce.number().int().nonnegative().optional().describe('Epoch ms, inclusive; 30 days before `to` when absent'),
  to: z.coerce.number().int().positive().optional().describe('Epoch ms, exclusive; now when absent'),
});

export const UsageGroup = z.object({
  key: z.string().nullable().describe("The day (YYYY-MM-DD, UTC), model, agent id, key id or purpose; null for calls without one"),
  attempts: z.number().int().describe('Ledger rows: every attempt, retries included'),
  failed: z.number().int().describe('Attempts that did not end well (not ok, not in flight)'),
  inFlight: z.number().int().describe('Attempts still in flight: their tokens and cost are the most they may use, until they settle'),
  estimated: z.number().int().describe('Attempts whose tokens were counted here because upstream reported none'),
  outcomes: z.record(z.string(), z.number().int()),
  promptTokens: z.number().int(),
  cachedTokens: z.number().int(),
  completionTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  cost: z.record(z.string(), z.string()).describe('Exact cost per currency, as decimal strings ("0.000264")'),
  costUsd: z.number().describe('All currencies in USD at `rates`; currencies without a rate are left out'),
});
export type UsageGroup = z.infer<typeof UsageGroup>;

export const UsageReport = z.object({
  appId: z.string(),
  from: z.number(),
  to: z.number(),
  groupBy: UsageGroupBy,
  groups: z.array(UsageGroup).describe('Days ascending; otherwise most expensive first'),
  total: UsageGroup,
  rates: z.record(z.string(), z.number()).describe('The USD rates costUsd was computed with'),
});
export type UsageReport = z.infer<typeof UsageReport>;

export const UsageCallsQuery = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().positive().optional(),
  agent_id: z.string().optional(),
  key_id: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before_created_at: z.coerce.number().int().optional().describe('created_at of the last row of the previous page (with before_id)'),
  before_id: z.string().optional(),
});

/** One model call attempt, as the ledger keeps it. */
export const LedgerCall = z.object({
  id: z.string(),
  app_id: z.string(),
  source: z.enum(['agent', 'gateway', 'batch', 'shadow', 'eval']).describe('Which path made the call'),
  agent_id: z.string().nullable(),
  key_id: z.string().nullable(),
  user_id: z.string().nullable(),
  conversation_id: z.string().nullable(),
  message_id: z.string().nullable(),
  request_id: z.string().nullable(),
  purpose: z.string().nullable().describe("An agent's 'reply' or 'summary'; null when the caller did not say (/v1, batches)"),
  model: z.string().describe('The model name the caller asked for'),
  deployment: z.string().nullable(),
  provider: z.string().nullable(),
  upstream_model: z.string().nullable(),
  attempt: z.number().int(),
  prompt_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  estimated: z.boolean().describe('Tokens counted here because upstream reported none'),
  cost_nanos: z.string().describe('Cost in billionths of the currency unit, as an exact integer string'),
  currency: z.string(),
  price_id: z.string().nullable(),
  ttft_ms: z.number().nullable(),
  latency_ms: z.number(),
  outcome: z.string().describe('ok | stopped | cut | error | timeout | rate_limited | pending (in flight) | interrupted …'),
  error: z.string().nullable(),
  created_at: z.number(),
  billed_unit: z.string().nullable().optional().describe("For calls not billed in tokens: 'second', 'character' or 'search'"),
  billed_units: z.number().nullable().optional().describe('How many of billed_unit the call used'),
});
export type LedgerCall = z.infer<typeof LedgerCall>;

export const UsageCalls = z.object({ calls: z.array(LedgerCall) });
export type UsageCalls = z.infer<typeof UsageCalls>;
