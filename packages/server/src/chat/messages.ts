import type { HistoryResult, Message, MessageContent, MessageReactions, MessageState, MessageType, SyncConversation, SyncResult } from '@warbler/protocol';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { newOrderedId } from '../ids.ts';
import { isStoreUnavailable, resendKey, type MessagePatch, type Store } from '../store/index.ts';
import type { Actor } from './actor.ts';
import { acceptContent } from './content.ts';
import type { Conversations } from './conversations.ts';
import type { PublishChatEvent } from './events.ts';
import type { DomainEvents } from '../events/index.ts';

export interface SendInput {
  conversation_id: string;
  /** Required for app-level calls; must be the caller with a user token. */
  sender_id?: string;
  client_msg_id?: string | null;
  type: MessageType;
  content: MessageContent;
}

/** Keeps a search index in step with each message as stored (search room); put never throws. */
export interface MessageIndex {
  /** `fresh`: the message was never given to put before (stored just now, or a streaming reply finishing): nothing old to remove. */
  put(message: Message, opts?: { fresh?: boolean }): Promise<void>;
}

/** Refuses a send before it is stored by throwing a WarblerError. */
export type SendCheck = (appId: string, conversationId: string, senderId: string) => Promise<void>;

const TYPING_EVERY_MS = 1_500;
/** Appends whose outcome the store could not report, remembered until retried (oldest forgotten first). */
const MAX_UNSURE_APPENDS = 10_000;

/** Messages: send, history, edit, recall, receipts, typing and resume. */
export class Messages {
  /**
   * client_msg_id key → message ids of attempts that failed with the store
   * unreachable. Such a write may still have committed; if a retry then finds
   * one of exactly those messages stored, nobody was told of it yet.
   */
  private readonly unsure = new Map<string, string[]>();
  private readonly lastTyping = new Map<string, number>();
  private readonly listeners = new Set<(message: Message) => void>();
  private overlay: (messages: Message[]) => Message[] = (messages) => messages;
  private sendCheck: SendCheck = async () => {};
  private events: Pick<DomainEvents, 'emit'> | undefined;
  private index: MessageIndex | undefined;
  private decorate: (appId: string, messages: Message[]) => Promise<Message[]> = async (_appId, messages) => messages;
  private reactionsSince: (appId: string, conversationIds: string[], since: number) => Promise<MessageReactions[]> = async () => [];

  constructor(
    private readonly store: Store,
    private readonly conversations: Conversations,
    private readonly publish: PublishChatEvent,
  ) {}

  async send(actor: Actor, input: SendInput): Promise<{ message: Message; duplicate: boolean }> {
    const senderId = this.senderOf(actor, input.sender_id);
    await this.conversations.requireMember(actor.appId, input.conversation_id, senderId);
    await this.sendCheck(actor.appId, input.conversation_id, senderId);
    const content = await acceptContent(this.store, actor.appId, input.conversation_id, input.type, input.content);
    return this.append(actor, { conversation_id: input.conversation_id, sender_id: senderId, client_msg_id: input.client_msg_id ?? null, type: input.type, content, state: 'complete' });
  }

  /**
   * Stores a message whose sender and content were already checked, with the
   * next seq, and pushes it to the conversation in seq order. Used by send and
   * by agents starting a streaming reply.
   */
  async append(
    actor: Actor,
    input: { conversation_id: string; sender_id: string; client_msg_id: string | null; type: MessageType; content: MessageContent; state: MessageState },
  ): Promise<{ message: Message; duplicate: boolean }> {
    const now = Date.now();
    const id = newOrderedId('msg', now);
    let r: { message: Message; duplicate: boolean };
    try {
      r = await this.store.appendMessage({ id, app_id: actor.appId, created_at: now, ...input });
    } catch (error) {
      if (input.client_msg_id !== null && isStoreUnavailable(error)) this.rememberUnsure(resendKey({ app_id: actor.appId, ...input }), id);
      throw error;
    }
    // A resend that finds the very attempt whose outcome was lost: stored, but never pushed.
    let firstNews = false;
    if (r.duplicate && this.unsure.size > 0) {
      const key = resendKey({ app_id: actor.appId, ...input });
      firstNews = this.unsure.get(key)?.includes(r.message.id) ?? false;
      this.unsure.delete(key);
    }
    // Published as soon as this append completes, before any later one: pushes leave in seq order.
    if (!r.duplicate || firstNews) {
      this.publish({
        to: 'conversation', app_id: actor.appId, conversation_id: input.conversation_id,
        except_session: actor.sessionId,
        frame: { type: 'message', message: r.message, ts: r.message.created_at },
      });
      for (const listener of this.listeners) listener(r.message);
      await this.index?.put(r.message, { fresh: !r.duplicate });
      // A streaming reply is announced when it completes (replace), with its whole text.
      if (r.message.state === 'complete') await this.announceCreated(actor.appId, r.message);
    }
    return r;
  }

  private rememberUnsure(key: string, messageId: string): void {
    // Every failed attempt had its own message id, and any one of them may be the one that committed.
    const ids = this.unsure.get(key) ?? [];
    this.unsure.delete(key);
    this.unsure.set(key, [...ids.slice(-31), messageId]);
    if (this.unsure.size > MAX_UNSURE_APPENDS) this.unsure.delete(this.unsure.keys().next().value as string);
  }

  /** Called after each new message is stored on this node (agents listen here, not on the broker, so only one node reacts). */
  onMessage(listener: (message: Message) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells domain-event listeners (webhooks) of each message stored; their writes are done before a send answers. */
  useEvents(events: Pick<DomainEvents, 'emit'>): void {
    this.events = events;
  }

  private async announceCreated(appId: string, m: Message): Promise<void> {
    await this.events?.emit({
      type: 'message.created', appId, at: m.created_at,
      data: { message_id: m.id, conversation_id: m.conversation_id, seq: m.seq, sender_id: m.sender_id, type: m.type, content: m.content, created_at: m.created_at },
    });
  }

  /** A check every person's send passes before it is stored (agents bound the replies one person may wait for); it throws to refuse. */
  useSendCheck(check: SendCheck): void {
    this.sendCheck = check;
  }

  /** Indexes each message stored, edited, finished or recalled (message search). */
  useIndex(index: MessageIndex): void {
    this.index = index;
  }

  /** Adds what other rooms keep about messages (reactions) to history and sync pages. */
  useDecoration(decorate: (appId: string, messages: Message[]) => Promise<Message[]>): void {
    this.decorate = decorate;
  }

  /** Lets sync carry the reaction sets that changed while the client was away (the reactions room). */
  useReactionCatchUp(since: (appId: string, conversationIds: string[], since: number) => Promise<MessageReactions[]>): void {
    this.reactionsSince = since;
  }

  /** Lets streaming replies show their live text to readers of history and sync. */
  useOverlay(overlay: (messages: Message[]) => Message[]): void {
    this.overlay = overlay;
  }

  /**
   * Replaces a stored message and tells the conversation (streaming replies finishing, agents' updates).
   * `wasStreaming`: the message was streaming until now, so the search index never held it.
   */
  async replace(appId: string, messageId: string, patch: MessagePatch, opts: { wasStreaming?: boolean } = {}): Promise<Message> {
    const updated = await this.store.updateMessage(appId, messageId, patch);
    if (!updated) throw notFound('The message');
    this.announceUpdate({ appId }, updated);
    await this.index?.put(updated, { fresh: opts.wasStreaming === true });
    // Only a streaming reply finishing sets state 'complete' here (edits go through edit()).
    if (patch.state === 'complete') await this.announceCreated(appId, updated);
    return updated;
  }

  async history(actor: Actor, conversationId: string, page: { before?: number; after?: number; limit: number }): Promise<HistoryResult> {
    if (page.before !== undefined && page.after !== undefined) throw badRequest('Give either before or after, not both.');
    await this.conversations.get(actor, conversationId);
    const result = await this.store.listMessages(actor.appId, conversationId, page);
    return { ...result, messages: await this.decorate(actor.appId, this.overlay(result.messages)) };
  }

  async edit(actor: Actor, messageId: string, content: MessageContent): Promise<Message> {
    const message = await this.ownMessage(actor, messageId);
    if (message.type !== 'text') throw badRequest('Only text messages can be edited; recall and resend a file instead.');
    if (message.state !== 'complete') throw badRequest(`A ${message.state} message cannot be edited.`);
    // An edit changes the words; the message it answers stays unless the edit names another.
    const kept = message.content.reply_to as { message_id?: unknown } | undefined;
    const edited = content.reply_to === undefined && typeof kept?.message_id === 'string' ? { ...content, reply_to: { message_id: kept.message_id } } : content;
    const accepted = await acceptContent(this.store, actor.appId, message.conversation_id, 'text', edited);
    const now = Date.now();
    const updated = await this.store.updateMessage(actor.appId, messageId, { content: accepted, edited_at: now, updated_at: now });
    if (!updated) throw notFound('The message');
    this.announceUpdate(actor, updated);
    await this.index?.put(updated);
    return updated;
  }

  async recall(actor: Actor, messageId: string): Promise<Message> {
    const message = await this.ownMessage(actor, messageId);
    if (message.state === 'recalled') return message;
    const updated = await this.store.updateMessage(actor.appId, messageId, { content: {}, state: 'recalled', updated_at: Date.now() });
    if (!updated) throw notFound('The message');
    this.announceUpdate(actor, updated);
    await this.index?.put(updated);
    return updated;
  }

  async markRead(actor: Actor, conversationId: string, seq: number, userId?: string): Promise<{ read_seq: number; delivered_seq: number }> {
    return this.receipt(actor, conversationId, seq, 'read', userId);
  }

  async markDelivered(actor: Actor, conversationId: string, seq: number, userId?: string): Promise<{ read_seq: number; delivered_seq: number }> {
    return this.receipt(actor, conversationId, seq, 'delivered', userId);
  }

  async typing(actor: Actor, conversationId: string): Promise<void> {
    const userId = this.senderOf(actor, undefined);
    await this.conversations.requireMember(actor.appId, conversationId, userId);
    const key = `${actor.appId}\u0000${conversationId}\u0000${userId}`;
    const now = Date.now();
    if (now - (this.lastTyping.get(key) ?? 0) < TYPING_EVERY_MS) return;
    this.lastTyping.set(key, now);
    if (this.lastTyping.size > 10_000) this.pruneTyping(now);
    this.publish({
      to: 'conversation', app_id: actor.appId, conversation_id: conversationId, except_user: userId,
      frame: { type: 'typing', conversation_id: conversationId, user_id: userId, ts: now },
    });
  }

  /** Everything a reconnecting client missed, from its cursors; see docs/protocol.md. */
  async sync(actor: Actor, cursors: Record<string, number>, since: number | undefined, limit: number): Promise<SyncResult> {
    const userId = this.senderOf(actor, undefined);
    const ts = Date.now();
    const rows = await this.store.listConversationsForUser(actor.appId, userId, { limit: 100_000 });
    const conversations: SyncConversation[] = [];
    const known: string[] = [];
    for (const { conversation } of rows) {
      const cursor = cursors[conversation.id];
      if (cursor === undefined) {
        conversations.push({ conversation, messages: [], has_more: conversation.last_seq > 0, is_new: true });
        continue;
      }
      known.push(conversation.id);
      if (conversation.last_seq <= cursor) continue;
      const page = await this.store.listMessages(actor.appId, conversation.id, { after: cursor, limit });
      conversations.push({ conversation, messages: await this.decorate(actor.appId, this.overlay(page.messages)), has_more: page.has_more, is_new: false });
    }
    const mine = new Set(rows.map((r) => r.conversation.id));
    const removed = Object.keys(cursors).filter((id) => !mine.has(id));
    let updated: Message[] = [];
    let reactions: MessageReactions[] = [];
    if (since !== undefined && known.length > 0) {
      const changed = await this.store.listMessagesUpdatedSince(actor.appId, known, since, 1_000);
      updated = changed.filter((m) => m.seq <= (cursors[m.conversation_id] ?? 0));
      // Messages are gap-filled by seq; reactions change without a seq, so they come as whole sets changed since `since`.
      reactions = await this.reactionsSince(actor.appId, known, since);
    }
    return { conversations, updated, removed, reactions, ts };
  }

  private async receipt(actor: Actor, conversationId: string, seq: number, kind: 'read' | 'delivered', userId?: string) {
    const who = this.senderOf(actor, userId);
    await this.conversations.requireMember(actor.appId, conversationId, who);
    const member = kind === 'read'
      ? await this.store.markRead(actor.appId, conversationId, who, seq)
      : await this.store.markDelivered(actor.appId, conversationId, who, seq);
    if (!member) throw notFound('That member');
    this.publish({
      to: 'conversation', app_id: actor.appId, conversation_id: conversationId,
      frame: { type: 'receipt', conversation_id: conversationId, user_id: who, kind, seq: kind === 'read' ? member.read_seq : member.delivered_seq, ts: Date.now() },
    });
    return { read_seq: member.read_seq, delivered_seq: member.delivered_seq };
  }

  /** One message, for a member of its conversation (or the app); others get not-found or not-a-member, as for the conversation. */
  async get(actor: Actor, messageId: string): Promise<Message> {
    const message = await this.store.getMessage(actor.appId, messageId);
    if (!message) throw notFound('The message');
    if (actor.userId) await this.conversations.requireMember(actor.appId, message.conversation_id, actor.userId);
    return message;
  }

  private async ownMessage(actor: Actor, messageId: string): Promise<Message> {
    const message = await this.store.getMessage(actor.appId, messageId);
    if (!message) throw notFound('The message');
    if (actor.userId) {
      await this.conversations.requireMember(actor.appId, message.conversation_id, actor.userId);
      if (message.sender_id !== actor.userId) throw forbidden('You can only change your own messages.');
    }
    return message;
  }

  private announceUpdate(actor: Actor, message: Message): void {
    this.publish({
      to: 'conversation', app_id: actor.appId, conversation_id: message.conversation_id,
      frame: { type: 'message.updated', message, ts: message.updated_at },
    });
  }

  /** The user a call acts as: the token's user, or the one an app-level call names. */
  private senderOf(actor: Actor, named: string | undefined): string {
    if (actor.userId) {
      if (named && named !== actor.userId) throw forbidden('With a user token you can only act as yourself; leave sender_id/user_id out.');
      return actor.userId;
    }
    if (!named) throw badRequest('Name the user this call acts for (sender_id or user_id): app-level calls act for one of your users.');
    return named;
  }

  private pruneTyping(now: number): void {
    for (const [key, at] of this.lastTyping) if (now - at > TYPING_EVERY_MS) this.lastTyping.delete(key);
  }
}
