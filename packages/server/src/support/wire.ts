import { randomBytes } from 'node:crypto';
import type { SupportConversation } from '@warbler/protocol';
import type { SupportRow } from './support-store.ts';

/** The wire shape of a support row: times turned into durations, CSAT grouped. */
export function toWire(row: SupportRow): SupportConversation {
  return {
    conversation_id: row.conversation_id,
    app_id: row.app_id,
    customer_id: row.customer_id,
    agent_id: row.agent_id,
    status: row.status,
    locale: row.locale,
    assignee_id: row.assignee_id,
    handoff_reason: row.handoff_reason,
    handoff_detail: row.handoff_detail,
    handoff_at: row.handoff_at,
    handoffs: row.handoffs,
    reopens: row.reopens,
    outcome: row.outcome,
    first_response_ms: since(row.first_customer_at, row.first_response_at),
    first_human_response_ms: since(row.handoff_at, row.first_human_response_at),
    resolution_ms: since(row.created_at, row.resolved_at),
    human_messages: row.human_messages,
    csat: row.csat_rating === null ? null : { rating: row.csat_rating, comment: row.csat_comment, at: row.csat_at ?? 0 },
    created_at: row.created_at,
    updated_at: row.updated_at,
    resolved_at: row.resolved_at,
  };
}

function since(from: number | null, to: number | null): number | null {
  return from === null || to === null ? null : Math.max(0, to - from);
}

/** Ids of the support room's own rows (events, notes, canned replies): sortable by time, unguessable. */
export function supportId(prefix: 'sev' | 'snt' | 'cnd'): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
