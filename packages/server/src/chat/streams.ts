import type { Message, MessageContent } from '@warbler/protocol';
import type { Store } from '../store/index.ts';
import type { PublishChatEvent } from './events.ts';
import type { Messages } from './messages.ts';

export interface StreamOptions {
  /** Shortest gap between two delta frames of one reply; deltas arriving faster are merged. */
  coalesceMs: number;
  /** How often the text so far is written to the store, so a restart or a late reader loses little. */
  persistEveryMs: number;
}

/** Several nodes: who streams which reply, so no node fails a reply another live node is still writing. */
export interface ReplyClaims {
  claim(messageId: string): Promise<unknown>;
  release(messageId: string): Promise<void>;
  /** Of these message ids, those another live node is streaming. */
  heldElsewhere(messageIds: string[]): Promise<Set<string>>;
}

interface Live {
  appId: string;
  conversationId: string;
  message: Message;
  text: string;
  /** Text not yet pushed, and where it starts. */
  pending: string;
  pendingOffset: number;
  lastFlush: number;
  flushTimer: NodeJS.Timeout | undefined;
  lastPersist: number;
  persisting: Promise<unknown> | undefined;
}

/**
 * Replies that are written while members watch: one message, created as
 * `streaming`, grown by `message.delta` pushes (each says at which offset
 * its text goes), and finished in place as `complete` or `failed`. A reader
 * that arrives mid-reply (history, sync) is given the text so far and then
 * the deltas from that offset on.
 */
export class StreamingReplies {
  private readonly live = new Map<string, Live>();
  private claims: ReplyClaims | undefined;

  constructor(
    private readonly store: Store,
    private readonly messages: Messages,
    private readonly publish: PublishChatEvent,
    private readonly options: StreamOptions = { coalesceMs: 8, persistEveryMs: 2_000 },
  ) {
    messages.useOverlay((list) => this.overlay(list));
  }

  /** Marks this node's replies as its own, for the other nodes' failOrphans. */
  useClaims(claims: ReplyClaims): void {
    this.claims = claims;
  }

  /** Creates the streaming message as the agent, pushed to every member like any new message. */
  async start(appId: string, conversationId: string, senderId: string, content: MessageContent = {}): Promise<Message> {
    const { message } = await this.messages.append(
      { appId },
      { conversation_id: conversationId, sender_id: senderId, client_msg_id: null, type: 'text', content: { ...content, text: '' }, state: 'streaming' },
    );
    const now = Date.now();
    this.live.set(message.id, {
      appId, conversationId, message, text: '', pending: '', pendingOffset: 0,
      lastFlush: 0, flushTimer: undefined, lastPersist: now, persisting: undefined,
    });
    // A failed claim leaves the reply to be failed by another node's sweep: better than a reply stuck as streaming.
    await this.claims?.claim(message.id).catch(() => undefined);
    return message;
  }

  /** Appends text to a streaming reply; members get it within coalesceMs. */
  append(messageId: string, text: string): void {
    const live = this.live.get(messageId);
    if (!live || text.length === 0) return;
    if (live.pending.length === 0) live.pendingOffset = live.text.length;
    live.text += text;
    live.pending += text;
    const now = Date.now();
    const wait = live.lastFlush + this.options.coalesceMs - now;
    if (wait <= 0) this.flush(live, now);
    else live.flushTimer ??= setTimeout(() => this.flush(live, Date.now()), wait);
    if (now - live.lastPersist >= this.options.persistEveryMs && !live.persisting) {
      live.lastPersist = now;
      live.persisting = this.store
        .updateMessage(live.appId, messageId, { content: { ...live.message.content, text: live.text }, updated_at: now })
        .catch(() => undefined)
        .finally(() => (live.persisting = undefined));
    }
  }

  /** The text written so far, or undefined when the message is not streaming on this node. */
  textOf(messageId: string): string | undefined {
    return this.live.get(messageId)?.text;
  }

  /** Gives a reader the live text of messages still streaming here (stored text lags by up to persistEveryMs). */
  overlay(messages: Message[]): Message[] {
    if (this.live.size === 0) return messages;
    return messages.map((m) => {
      const live = m.state === 'streaming' ? this.live.get(m.id) : undefined;
      return live ? { ...m, content: { ...m.content, text: live.text } } : m;
    });
  }

  /** Ends the reply: stores the final content and state and pushes message.updated. */
  async finish(messageId: string, end: { state: 'complete' | 'failed'; content: MessageContent }): Promise<Message | undefined> {
    const live = this.live.get(messageId);
    if (!live) return undefined;
    if (live.flushTimer) clearTimeout(live.flushTimer);
    this.flush(live, Date.now());
    await live.persisting;
    this.live.delete(messageId);
    const done = await this.messages.replace(live.appId, messageId, { content: end.content, state: end.state, updated_at: Date.now() }, { wasStreaming: true });
    await this.claims?.release(messageId).catch(() => undefined);
    return done;
  }

  get size(): number {
    return this.live.size;
  }

  private flush(live: Live, now: number): void {
    live.flushTimer = undefined;
    if (live.pending.length === 0) return;
    const text = live.pending;
    live.pending = '';
    live.lastFlush = now;
    this.publish({
      to: 'conversation', app_id: live.appId, conversation_id: live.conversationId,
      frame: { type: 'message.delta', conversation_id: live.conversationId, message_id: live.message.id, offset: live.pendingOffset, text, ts: now },
    });
  }

  /**
   * Replies left `streaming` by a crash can never finish: mark them failed
   * with what was saved of their text, and tell their conversations. At
   * start, and (several nodes) now and then: a reply another live node is
   * writing, or one younger than `minAgeMs` (its claim may not be written
   * yet), is left alone.
   */
  async failOrphans(minAgeMs = 0): Promise<number> {
    let failed = 0;
    for (;;) {
      const page = await this.store.listStreamingMessages(100);
      const cutoff = Date.now() - minAgeMs;
      const candidates = page.filter((m) => !this.live.has(m.id) && m.created_at <= cutoff);
      const held = this.claims && candidates.length > 0 ? await this.claims.heldElsewhere(candidates.map((m) => m.id)) : new Set<string>();
      const orphans = candidates.filter((m) => !held.has(m.id));
      for (const m of orphans) {
        await this.messages.replace(m.app_id, m.id, {
          state: 'failed',
          content: { ...m.content, error: { code: 'interrupted', message: 'This answer was interrupted by a server restart. Please ask again.' } },
          updated_at: Date.now(),
        });
        failed++;
      }
      // A full page may hide more behind it; each round fails at least one, so this ends.
      if (orphans.length === 0 || page.length < 100) return failed;
    }
  }
}
