// Types only (the protocol's zod schemas stay out of browser bundles): each is z.infer of the schema the route declares.
import type {
  CannedReply,
  CannedReplyList,
  CopilotSuggestion,
  Message,
  SupportConversation,
  SupportHistory,
  SupportOutcome,
  SupportQueue,
  SupportQueuePage,
  SupportMe,
  SupportNote,
  SupportNoteList,
  SupportStaff,
  SupportStaffList,
} from '@warbler/protocol';
import { query, type Rest } from './rest.ts';

/** One page of a support queue, newest activity first (`next_before` for the next page; null on the last). */
export type { SupportQueuePage };

/**
 * The support inbox through REST, as a support user (a user the app gave the
 * `support` role). Live changes arrive as the client's `support` event.
 * A person answers with an ordinary `client.send(conversationId, …)` once
 * they hold the conversation (claiming joins them to it).
 */
export class SupportApi {
  constructor(private readonly rest: Rest) {}

  /** Whether the signed-in user has the support role (anyone may ask about themselves). */
  me(): Promise<SupportMe> {
    return this.rest.call('GET', '/api/support/me');
  }

  /** `unassigned` (waiting, nobody on it), `mine`, `all` (every open one) or `resolved` (resolved and closed). */
  queue(queue: SupportQueue = 'all', page: { limit?: number; before?: number } = {}): Promise<SupportQueuePage> {
    return this.rest.call('GET', `/api/support/queue${query({ queue, ...page })}`);
  }

  get(conversationId: string): Promise<SupportConversation> {
    return this.rest.call('GET', `/api/support/conversations/${enc(conversationId)}`);
  }

  /** The conversation's messages (the AI's citations included), readable before you join it; oldest first. */
  async history(conversationId: string, page: { before?: number; after?: number; limit?: number } = {}): Promise<SupportHistory> {
    const result = await this.rest.call<SupportHistory>('GET', `/api/support/conversations/${enc(conversationId)}/messages${query(page)}`);
    return { ...result, messages: [...result.messages].sort((a, b) => a.seq - b.seq) };
  }

  /** Take it: the AI stops (a reply it was writing is stopped) and you join. Rejects with `conflict` if someone else took it first. */
  claim(conversationId: string): Promise<SupportConversation> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/claim`);
  }

  /** Give it to a support user. */
  assign(conversationId: string, userId: string): Promise<SupportConversation> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/assign`, { user_id: userId });
  }

  /** Hand your conversation to another support user (you leave it). */
  transfer(conversationId: string, userId: string): Promise<SupportConversation> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/transfer`, { user_id: userId });
  }

  /** Back to the AI: it answers the customer's next message. */
  handBack(conversationId: string): Promise<SupportConversation> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/hand-back`);
  }

  /** End it; the outcome defaults to resolved_by_human when a person held it. */
  resolve(conversationId: string, outcome?: SupportOutcome): Promise<SupportConversation> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/resolve`, outcome ? { outcome } : {});
  }

  async notes(conversationId: string): Promise<SupportNote[]> {
    return (await this.rest.call<SupportNoteList>('GET', `/api/support/conversations/${enc(conversationId)}/notes`)).notes;
  }

  /** An internal note: support users see it (as a `support` event `note`); the customer never does. */
  addNote(conversationId: string, text: string): Promise<SupportNote> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/notes`, { text });
  }

  /** A reply drafted by the agent's model from its knowledge base, to edit and send as your own. */
  suggest(conversationId: string): Promise<CopilotSuggestion> {
    return this.rest.call('POST', `/api/support/conversations/${enc(conversationId)}/suggest`);
  }

  async cannedReplies(): Promise<CannedReply[]> {
    return (await this.rest.call<CannedReplyList>('GET', '/api/support/canned-replies')).canned_replies;
  }

  /** The app's support users (whom a conversation can be assigned or transferred to). */
  async staff(): Promise<SupportStaff[]> {
    return (await this.rest.call<SupportStaffList>('GET', '/api/support/staff')).staff;
  }
}

/** Who wrote a message of a support conversation, as the inbox shows it. */
export function supportAuthor(conversation: Pick<SupportConversation, 'customer_id' | 'agent_id'>, message: Pick<Message, 'sender_id' | 'type'>): 'customer' | 'ai' | 'person' | 'system' {
  if (message.type === 'system') return 'system';
  if (message.sender_id === conversation.customer_id) return 'customer';
  if (message.sender_id === conversation.agent_id) return 'ai';
  return 'person';
}

const enc = encodeURIComponent;
