import type { SupportConversation } from '@warbler/sdk';
import { describe, expect, it } from 'vitest';
import { allowedActions, inboxSections, sectionOf } from './inbox-order.ts';

const row = (id: string, over: Partial<SupportConversation>): SupportConversation => ({
  conversation_id: id, app_id: 'default', customer_id: 'c', agent_id: 'a', status: 'bot', locale: 'en', assignee_id: null,
  handoff_reason: null, handoff_detail: null, handoff_at: null, handoffs: 0, reopens: 0, outcome: null,
  first_response_ms: null, first_human_response_ms: null, resolution_ms: null, human_messages: 0, csat: null,
  created_at: 0, updated_at: 0, resolved_at: null, ...over,
});

describe('the support inbox order', () => {
  it('puts people waiting for a person first (longest wait first), then mine, colleagues\', the AI\'s and the done ones', () => {
    const rows = [
      row('resolved', { status: 'resolved', updated_at: 90 }),
      row('bot', { status: 'bot', updated_at: 80 }),
      row('theirs', { status: 'human', assignee_id: 'ben', updated_at: 70 }),
      row('mine', { status: 'human', assignee_id: 'ann', updated_at: 60 }),
      row('waiting-new', { status: 'pending_human', handoff_at: 50, updated_at: 50 }),
      row('waiting-old', { status: 'pending_human', handoff_at: 10, updated_at: 55 }),
      row('closed', { status: 'closed', updated_at: 95 }),
    ];
    expect(inboxSections(rows, 'ann').map((s) => [s.section, s.rows.map((r) => r.conversation_id)])).toEqual([
      ['waiting', ['waiting-old', 'waiting-new']],
      ['mine', ['mine']],
      ['others', ['theirs']],
      ['bot', ['bot']],
      ['done', ['closed', 'resolved']],
    ]);
  });

  it('counts a conversation the app assigned to me while it waits as mine', () => {
    expect(sectionOf({ status: 'pending_human', assignee_id: 'ann' }, 'ann')).toBe('mine');
    expect(sectionOf({ status: 'pending_human', assignee_id: 'ben' }, 'ann')).toBe('others');
  });

  it('lets me reply only to what I hold, and claim only what nobody holds', () => {
    expect(allowedActions({ status: 'pending_human', assignee_id: null }, 'ann')).toEqual({ claim: true, reply: false, handBack: true, resolve: true });
    expect(allowedActions({ status: 'human', assignee_id: 'ann' }, 'ann')).toEqual({ claim: false, reply: true, handBack: true, resolve: true });
    expect(allowedActions({ status: 'human', assignee_id: 'ben' }, 'ann')).toEqual({ claim: false, reply: false, handBack: false, resolve: true });
    expect(allowedActions({ status: 'bot', assignee_id: null }, 'ann')).toEqual({ claim: true, reply: false, handBack: false, resolve: true });
    expect(allowedActions({ status: 'resolved', assignee_id: 'ann' }, 'ann')).toEqual({ claim: false, reply: false, handBack: false, resolve: false });
  });
});
