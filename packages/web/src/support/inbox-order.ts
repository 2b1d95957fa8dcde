import type { SupportConversation } from '@warbler/sdk';

/**
 * The inbox's sections, in the order a support user works through them:
 * people waiting for a person, then what I hold, what colleagues hold, what
 * the AI is handling, and what is done.
 */
export const SECTIONS = ['waiting', 'mine', 'others', 'bot', 'done'] as const;
export type InboxSection = (typeof SECTIONS)[number];

export function sectionOf(row: Pick<SupportConversation, 'status' | 'assignee_id'>, me: string): InboxSection {
  switch (row.status) {
    case 'pending_human':
      // Assigned to me by the app but not yet answered is mine; assigned to a colleague is theirs.
      return row.assignee_id === null ? 'waiting' : row.assignee_id === me ? 'mine' : 'others';
    case 'human':
      return row.assignee_id === me ? 'mine' : 'others';
    case 'bot':
      return 'bot';
    default:
      return 'done';
  }
}

/**
 * Rows grouped by section (empty sections left out). Waiting: the longest
 * wait first, so nobody is starved by newer arrivals; the rest: the most
 * recent activity first.
 */
export function inboxSections(rows: Iterable<SupportConversation>, me: string): Array<{ section: InboxSection; rows: SupportConversation[] }> {
  const by = new Map<InboxSection, SupportConversation[]>();
  for (const row of rows) {
    const section = sectionOf(row, me);
    by.set(section, [...(by.get(section) ?? []), row]);
  }
  return SECTIONS.filter((s) => by.has(s)).map((section) => {
    const list = by.get(section)!;
    list.sort(section === 'waiting'
      ? (a, b) => (a.handoff_at ?? a.updated_at) - (b.handoff_at ?? b.updated_at)
      : (a, b) => b.updated_at - a.updated_at);
    return { section, rows: list };
  });
}

/** What a support user may do with a conversation, by its state and who holds it. */
export function allowedActions(row: Pick<SupportConversation, 'status' | 'assignee_id'>, me: string): { claim: boolean; reply: boolean; handBack: boolean; resolve: boolean } {
  const open = row.status === 'bot' || row.status === 'pending_human' || row.status === 'human';
  const mine = row.assignee_id === me && (row.status === 'human' || row.status === 'pending_human');
  return {
    // Taking it from a colleague is /assign, not a claim; a resolved one reopens when the customer writes.
    claim: open && (row.assignee_id === null || (row.assignee_id === me && row.status !== 'human')),
    reply: mine && row.status === 'human',
    handBack: row.status === 'pending_human' || mine,
    resolve: open,
  };
}
