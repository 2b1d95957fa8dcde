import { z } from 'zod';
import { Id } from './models.ts';
import { MAX_MONTHLY_BUDGET_USD } from './gateway-keys.ts';

/** An HTTP tool the agent may call: described by JSON Schema, executed as a POST of the arguments. */
export const AgentTool = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'use 1-64 letters, digits, _ or -'),
  description: z.string().max(1_000).default(''),
  /** JSON Schema of the arguments object. */
  parameters: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
  url: z.string().url(),
  headers: z.record(z.string(), z.string()).default({}),
  timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
});
export type AgentTool = z.infer<typeof AgentTool>;

/**
 * The default history budget: 12–30 exchanges of chat verbatim (it folds down to half), at most about
 * $0.0006 of gpt-4o-mini input per reply; the largest budget that kept a 200-turn chat at a third of the
 * whole window's cost (docs/decisions/0010-conversation-memory.md has the measurements).
 */
export const DEFAULT_HISTORY_TOKENS = 4_000;

/** What an operator defines for an agent (REST, console or warbler.yaml). */
export const AgentConfig = z.object({
  name: z.string().min(1).max(100),
  model: z.string().min(1).default('gpt-4o-mini'),
  system_prompt: z.string().max(20_000).default('You are a helpful assistant.'),
  temperature: z.number().min(0).max(2).optional(),
  /** Most tokens in one reply. */
  max_tokens: z.number().int().min(1).max(32_000).default(1_024),
  /** Most tokens of prompt (system + knowledge + history) per call; the model's window caps it. */
  context_tokens: z.number().int().min(512).max(1_000_000).optional(),
  /**
   * Most tokens of conversation (the summary of older turns plus the recent turns) sent per call. When a
   * chat outgrows it, the oldest turns are folded into the summary, down to about half of it, so the next
   * turns fit without another summary call. A chat's cost per turn is bounded by this, not by its length.
   */
  history_tokens: z.number().int().min(256).max(1_000_000).default(DEFAULT_HISTORY_TOKENS),
  knowledge_base_ids: z.array(z.string()).default([]),
  /** Passages retrieved per question. */
  top_k: z.number().int().min(1).max(20).default(4),
  /**
   * On a real model (never local/*): before retrieval the model turns the question and recent turns into
   * 1–3 search queries (a short call, in the ledger as purpose query_rewrite), fused with the question's own results.
   */
  query_rewrite: z.boolean().default(true),
  tools: z.array(AgentTool).max(32).default([]),
  /** Direct chats always get a reply; in groups the agent answers @mentions, or everything. */
  trigger: z.object({ group: z.enum(['mention', 'all']).default('mention') }).default({ group: 'mention' }),
  /** Spending cap per calendar month (UTC), in USD; null = none. */
  monthly_budget_usd: z.number().min(0).max(MAX_MONTHLY_BUDGET_USD).nullable().default(null),
  /** Overrides what Warbler knows of the model's vision support. */
  vision: z.boolean().optional(),
  avatar_url: z.string().url().nullable().optional(),
  /** The guardrails policy (warbler.yaml guardrails.policies, or default / off); unset: the app's, else the default. */
  guardrails: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a policy name is letters, digits, ".", "_" or "-"').optional(),
});
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

/** An agent as the REST API shows it: its definition, with tool header values masked ("••••1234"). */
export const Agent = AgentConfig.extend({
  id: Id,
  app_id: Id,
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type Agent = z.infer<typeof Agent>;

/** POST /api/agents: a definition, with your own id for the agent if you like (it is also a user's id). */
export const CreateAgentBody = AgentConfig.extend({ id: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/).optional() });
export type CreateAgentBody = z.input<typeof CreateAgentBody>;

export const AgentList = z.object({ agents: z.array(Agent) });
export type AgentList = z.infer<typeof AgentList>;
