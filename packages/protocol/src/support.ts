import { z } from 'zod';
import { Id, Message } from './models.ts';

// Support conversations on the wire: a customer and an app's AI agent, handed
// to a person when it should be, with an outcome at the end. docs/support.md
// explains the states, the triggers and the roles.

/**
 * bot: the AI answers. pending_human: waiting for a person (the AI is silent).
 * human: a person holds it. resolved: done, a new customer message reopens it.
 * closed: done for good (spam, abandoned), nothing reopens it.
 */
export const SupportStatus = z.enum(['bot', 'pending_human', 'human', 'resolved', 'closed']);
export type SupportStatus = z.infer<typeof SupportStatus>;

/** Why a conversation went to a person. */
export const HandoffReason = z.enum([
  /** The customer pressed "talk to a person". */
  'customer_button',
  /** The customer asked for a person in their own words. */
  'customer_asked',
  /** The agent called its handoff_to_human tool. */
  'agent_tool',
  /** N answers in a row found nothing in the knowledge base. */
  'no_knowledge',
  /** The customer gave an answer a thumbs-down. */
  'thumbs_down',
  /** The conversation's model calls reached the cost cap. */
  'cost_cap',
  /** The customer's message held one of the configured keywords. */
  'keyword',
  /** A support user took it from the queue or the app assigned it. */
  'staff',
]);
export type HandoffReason = z.infer<typeof HandoffReason>;

export const SupportOutcome = z.enum(['resolved_by_ai', 'resolved_by_human', 'abandoned', 'spam']);
export type SupportOutcome = z.infer<typeof SupportOutcome>;

export const SupportLocale = z.enum(['zh-CN', 'en']);
export type SupportLocale = z.infer<typeof SupportLocale>;

export const Csat = z.object({
  rating: z.number().int().min(1).max(5),
  comment: z.string().nullable(),
  at: z.number().int(),
});
export type Csat = z.infer<typeof Csat>;

/** A support conversation's support side; its messages are the chat conversation's. */
export const SupportConversation = z.object({
  conversation_id: Id,
  app_id: Id,
  customer_id: Id,
  agent_id: Id,
  status: SupportStatus,
  locale: SupportLocale,
  assignee_id: Id.nullable(),
  handoff_reason: HandoffReason.nullable(),
  /** The customer's words, the tool's reason or the keyword that fired. */
  handoff_detail: z.string().nullable(),
  handoff_at: z.number().int().nullable(),
  handoffs: z.number().int(),
  reopens: z.number().int(),
  outcome: SupportOutcome.nullable(),
  /** From the first customer message to the first answer by anyone (AI or person), in ms. */
  first_response_ms: z.number().int().nullable(),
  /** From the handoff to the first answer by a person, in ms. */
  first_human_response_ms: z.number().int().nullable(),
  /** From the conversation's start to its resolution, in ms. */
  resolution_ms: z.number().int().nullable(),
  human_messages: z.number().int(),
  csat: Csat.nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
  resolved_at: z.number().int().nullable(),
});
export type SupportConversation = z.infer<typeof SupportConversation>;

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time of day as HH:MM, 00:00 to 24:00');

/** When people answer; outside it the customer is told when they will, and may leave a message. */
export const WorkingHours = z.object({
  /** IANA time zone, e.g. Asia/Shanghai. */
  time_zone: z.string().min(1).max(64),
  /** Opening spans per weekday (0 = Sunday … 6 = Saturday); a day not listed is closed. */
  spans: z.array(z.object({ day: z.number().int().min(0).max(6), from: HHMM, to: HHMM })).max(28),
});
export type WorkingHours = z.infer<typeof WorkingHours>;

/** When an app's (or one agent's) support conversations go to a person without being asked. */
export const SupportPolicy = z.object({
  /** Hand off after this many AI answers in a row that found nothing in the knowledge base; null: never. */
  no_knowledge_streak: z.number().int().min(1).max(50).nullable().default(3),
  /** Hand off when the customer gives an AI answer a thumbs-down. */
  thumbs_down: z.boolean().default(true),
  /** Hand off once the conversation's model calls cost this much (USD); null: no cap. */
  cost_cap_usd: z.number().min(0).max(10_000).nullable().default(null),
  /** Words or phrases that hand off at once when a customer writes them (case-insensitive, whole words in English). */
  keywords: z.array(z.string().min(1).max(100)).max(200).default([]),
  /** null: people answer around the clock. */
  working_hours: WorkingHours.nullable().default(null),
});
export type SupportPolicy = z.infer<typeof SupportPolicy>;
export type SupportPolicyInput = z.input<typeof SupportPolicy>;

// ---- request bodies ----

export const OpenSupportBody = z.object({
  /** With the app secret: the visitor (a user of the app). With a user token: leave out (it is you). */
  customer_id: Id.optional(),
  agent_id: Id.optional(),
  locale: SupportLocale.optional(),
}).strict();

export const HandoffBody = z.object({
  /** Why, in the customer's words (optional). */
  note: z.string().max(1_000).optional(),
}).strict();

export const AssignBody = z.object({ user_id: Id }).strict();

export const ResolveBody = z.object({
  /** Defaults to resolved_by_human when a person held it, resolved_by_ai otherwise. */
  outcome: SupportOutcome.optional(),
}).strict();

export const SupportNoteBody = z.object({ text: z.string().min(1).max(8_000) }).strict();
export const SupportNote = z.object({
  id: Id, conversation_id: Id, author_id: Id, text: z.string(), created_at: z.number().int(),
});
export type SupportNote = z.infer<typeof SupportNote>;

export const CannedReplyBody = z.object({
  title: z.string().min(1).max(200),
  text: z.string().min(1).max(8_000),
}).strict();
export const CannedReply = z.object({
  id: Id, title: z.string(), text: z.string(), created_by: Id.nullable(), created_at: z.number().int(), updated_at: z.number().int(),
});
export type CannedReply = z.infer<typeof CannedReply>;

export const CsatBody = z.object({
  rating: z.number().int().min(1).max(5),
  comment: z.string().max(2_000).optional(),
}).strict();

export const SupportQueue = z.enum(['unassigned', 'mine', 'all', 'resolved']);
export type SupportQueue = z.infer<typeof SupportQueue>;

export const SupportQueueQuery = z.object({
  queue: SupportQueue.default('all'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** updated_at of the last row of the previous page. */
  before: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** How the report groups conversations: by the day they started, their agent, the model that answered, or why they went to a person. */
export const SupportGroupBy = z.enum(['day', 'agent', 'model', 'handoff_reason']);
export type SupportGroupBy = z.infer<typeof SupportGroupBy>;

export const SupportReportQuery = z.object({
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  until: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  group_by: SupportGroupBy.default('day'),
});

/** An AI-suggested reply for the person holding the conversation; they edit it and send it as their own. */
export const CopilotSuggestion = z.object({
  text: z.string(),
  citations: z.array(z.record(z.string(), z.unknown())),
  model: z.string(),
});
export type CopilotSuggestion = z.infer<typeof CopilotSuggestion>;

export const SupportReportRow = z.object({
  key: z.string(),
  conversations: z.number().int(),
  resolved: z.number().int(),
  resolved_by_ai: z.number().int(),
  resolved_by_human: z.number().int(),
  handed_off: z.number().int(),
  ai_resolution_rate: z.number().nullable(),
  handoff_rate: z.number().nullable(),
  csat_average: z.number().nullable(),
  csat_count: z.number().int(),
  median_first_response_ms: z.number().nullable(),
  median_resolution_ms: z.number().nullable(),
  /** Every model call of these conversations, copilot included, per currency (decimal strings). */
  cost: z.record(z.string(), z.string()),
  /** cost / resolved conversations, per currency. */
  cost_per_resolved: z.record(z.string(), z.string()),
});
export type SupportReportRow = z.infer<typeof SupportReportRow>;

/** Pushed on the realtime socket to support users (and never to customers): a conversation's support state changed. */
export interface SupportPushFrame {
  type: 'support';
  event: 'created' | 'handoff' | 'assigned' | 'resolved' | 'reopened' | 'updated' | 'note';
  conversation: SupportConversation;
  /** Only for event 'note': the internal note. */
  note?: SupportNote;
  ts: number;
}

/** GET /api/support/me: whether the signed-in user has the support role (and so an inbox). */
export const SupportMe = z.object({ user_id: Id, staff: z.boolean() });
export type SupportMe = z.infer<typeof SupportMe>;

// ---- path parameters and queries ----

export const SupportConversationParams = z.object({ conversationId: Id });
export const CannedReplyParams = z.object({ cannedId: Id });
export const SupportStaffParams = z.object({ userId: Id });
export const SupportAgentParams = z.object({ agentId: Id });

/** A page of the conversation's history: before or after a seq (not both), up to limit messages. */
export const SupportHistoryQuery = z.object({
  before: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

// ---- responses (decision 0032: the routes declare them, the web app and the SDK take their types from them) ----

/** POST /api/support/conversations: the visitor's open conversation (201 when it was just opened, 200 when it already was). */
export const SupportOpened = z.object({
  conversation: SupportConversation,
  /** true: opened by this call; false: the customer's open conversation came back. */
  created: z.boolean(),
});
export type SupportOpened = z.infer<typeof SupportOpened>;

/** GET /api/support/queue: one page of a queue, newest activity first. */
export const SupportQueuePage = z.object({
  conversations: z.array(SupportConversation),
  /** Pass as `before` for the next page; null on the last page. */
  next_before: z.number().int().nullable(),
});
export type SupportQueuePage = z.infer<typeof SupportQueuePage>;

/** GET /api/support/conversations/:id/messages: the chat conversation's history, as support users read it. */
export const SupportHistory = z.object({
  messages: z.array(Message),
  /** More messages lie beyond this page (in the direction asked). */
  has_more: z.boolean(),
});
export type SupportHistory = z.infer<typeof SupportHistory>;

export const SupportNoteList = z.object({ notes: z.array(SupportNote) });
export type SupportNoteList = z.infer<typeof SupportNoteList>;

export const CannedReplyList = z.object({ canned_replies: z.array(CannedReply) });
export type CannedReplyList = z.infer<typeof CannedReplyList>;

/** A user with the support role. */
export const SupportStaff = z.object({ user_id: Id, granted_at: z.number().int() });
export type SupportStaff = z.infer<typeof SupportStaff>;

export const SupportStaffList = z.object({ staff: z.array(SupportStaff) });
export type SupportStaffList = z.infer<typeof SupportStaffList>;

/** GET /api/support/report: outcomes of the conversations created in [since, until), in total and per group. */
export const SupportReport = z.object({
  since: z.number().int(),
  until: z.number().int(),
  group_by: SupportGroupBy,
  /** Every conversation of the window (key 'total'). */
  total: SupportReportRow,
  /** One row per group key, sorted by key. */
  groups: z.array(SupportReportRow),
});
export type SupportReport = z.infer<typeof SupportReport>;
