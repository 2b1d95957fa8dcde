// Emoji reactions on messages: add and remove (each idempotent), the
// message's whole set pushed to its conversation after every change, and
// the sets attached to history and sync pages.
import { MAX_REACTION_KINDS, REACTIONS_PER_MINUTE, type Message, type MessageReactions, type ReactionSummary } from '@warbler/protocol';
import { badRequest, forbidden, notFound, WarblerError } from '../errors.ts';
import type { Actor, PublishChatEvent } from '../chat/index.ts';
import type { ReactionsStore } from './reactions-store.ts';

/** Most reaction sets one sync carries, newest changes first (a client away through more misses the oldest until it reloads). */
const MAX_CATCH_UP = 1_000;

export interface ReactionsDeps {
  store: ReactionsStore;
  getMessage(appId: string, messageId: string): Promise<Message | undefined>;
  /** Throws not_member when the user is not in the conversation. */
  requireMember(appId: string, conversationId: string, userId: string): Promise<void>;
  publish: PublishChatEvent;
  /** The per-user reaction budget; false when spent. */
  take(key: string, perMinute: number): Promise<boolean>;
}

export class Reactions {
  constructor(private readonly deps: ReactionsDeps) {}

  async add(actor: Actor, messageId: string, emoji: string, userId?: string): Promise<MessageReactions> {
    const { message, who } = await this.target(actor, messageId, userId);
    const added = await this.deps.store.add({ appId: actor.appId, messageId, conversationId: message.conversation_id, userId: who, emoji, at: Date.now() }, MAX_REACTION_KINDS);
    if (!added) throw badRequest(`This message already has ${MAX_REACTION_KINDS} different reactions: add to one of those instead.`);
    return this.announce(actor.appId, message);
  }

  async remove(actor: Actor, messageId: string, emoji: string, userId?: string): Promise<MessageReactions> {
    const { message, who } = await this.target(actor, messageId, userId);
    await this.deps.store.remove({ appId: actor.appId, messageId, conversationId: message.conversation_id, userId: who, emoji, at: Date.now() });
    return this.announce(actor.appId, message);
  }

  /** The messages with their reactions attached (for history and sync pages). */
  async attach(appId: string, messages: Message[]): Promise<Message[]> {
    if (messages.length === 0) return messages;
    const sets = await this.deps.store.summaries(appId, messages.map((m) => m.id));
    if (sets.size === 0) return messages;
    return messages.map((m) => (sets.has(m.id) ? { ...m, reactions: sets.get(m.id) } : m));
  }

  /**
   * Reconnect catch-up: the whole set of each message whose reactions changed since `since` (ms) in these
   * conversations. The chat room's sync answers with these beside the messages it gap-fills by seq; a
   * per-message "last changed" time (not a per-conversation seq) is enough because sets, unlike messages,
   * need no order: the newest set replaces whatever the client held.
   */
  async changedSince(appId: string, conversationIds: readonly string[], since: number): Promise<MessageReactions[]> {
    const changed = await this.deps.store.changedSince(appId, conversationIds, since, MAX_CATCH_UP);
    if (changed.length === 0) return [];
    const sets = await this.deps.store.summaries(appId, changed.map((c) => c.message_id));
    return changed.map((c) => ({ message_id: c.message_id, conversation_id: c.conversation_id, reactions: sets.get(c.message_id) ?? [] }));
  }

  private async target(actor: Actor, messageId: string, named: string | undefined): Promise<{ message: Message; who: string }> {
    if (actor.userId && named && named !== actor.userId) throw forbidden('With a user token you can only react as yourself; leave user_id out.');
    const who = actor.userId ?? named;
    if (!who) throw badRequest('Name the user who reacts (user_id): app-level calls act for one of your users.');
    if (!(await this.deps.take(`reactions:${actor.appId}:${who}`, REACTIONS_PER_MINUTE))) {
      throw new WarblerError('rate_limited', `At most ${REACTIONS_PER_MINUTE} reactions a minute: wait a moment and try again.`);
    }
    const message = await this.deps.getMessage(actor.appId, messageId);
    if (!message) throw notFound('The message');
    await this.deps.requireMember(actor.appId, message.conversation_id, who);
    if (message.state === 'recalled') throw badRequest('This message was recalled: it cannot be reacted to.');
    return { message, who };
  }

  private async announce(appId: string, message: Message): Promise<MessageReactions> {
    const reactions: ReactionSummary[] = (await this.deps.store.summaries(appId, [message.id])).get(message.id) ?? [];
    const body: MessageReactions = { message_id: message.id, conversation_id: message.conversation_id, reactions };
    this.deps.publish({ to: 'conversation', app_id: appId, conversation_id: message.conversation_id, frame: { type: 'reaction', ...body, ts: Date.now() } });
    return body;
  }
}
