import type {
  AckFrame,
  AgentStateFrame,
  ConversationPushFrame,
  HistoryResult,
  MemberPushFrame,
  Message,
  MessageContent,
  MessageDeltaFrame,
  ReadyFrame,
  MemberPrefsPushFrame,
  ReactionPushFrame,
  ReceiptPushFrame,
  ResultFrame,
  ServerFrame,
  StoredFile,
  SupportPushFrame,
  SyncResult,
  TypingPushFrame,
} from '@warbler/protocol';
import { type BackoffOptions, backoffDelay, defaultBackoff, type Drop, type DropReason, planReconnect } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { isTransient, WarblerError } from './errors.ts';
import { Outbox, type QueuedSend, type SendableType, type WarblerStorage } from './outbox.ts';
import { ConversationsApi, type FetchLike, type FileData, type FileLink, fileLink, Rest, uploadFile } from './rest.ts';
import { SupportApi } from './support.ts';
import { Timeline } from './timeline.ts';
import { type TokenProvider, TokenSource } from './token.ts';
import { Connection, type RequestFrame, socketProtocols, socketUrl, type WebSocketConstructor } from './transport.ts';

export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StatusChange {
  status: Status;
  /**
   * connecting: `connect`; open: `ready`; reconnecting: why the last socket
   * went away; closed: `idle` (never connected), `client` (close() was
   * called) or `unauthorized` (no valid token could be had).
   */
  reason: 'connect' | 'ready' | DropReason | 'idle' | 'client';
  /** Close code of the socket that went away. */
  code?: number;
  /** When reconnecting: the wait before the next attempt. */
  delayMs?: number;
  /** When reconnecting: failed attempts in a row so far. */
  attempt?: number;
  error?: WarblerError;
}

export interface WarblerEvents {
  /** Every message of every conversation the client tracks, once each, in seq order per conversation — your own sends included. */
  message: Message;
  /** An edit, recall, or a streaming reply that finished or failed. */
  'message.updated': Message;
  'message.delta': MessageDeltaFrame;
  receipt: ReceiptPushFrame;
  typing: TypingPushFrame;
  /** Membership changes; also emitted (event `removed`, for you) when a resume finds you were removed while away. */
  member: MemberPushFrame;
  /** A conversation you were added to or that changed; also emitted for each conversation a resume finds new. */
  conversation: ConversationPushFrame;
  'agent.state': AgentStateFrame;
  /**
   * Someone added or took back a reaction: the message's whole set of reactions now. Also emitted after a
   * reconnect for each message whose reactions changed while the client was away (apply it like a live one).
   */
  reaction: ReactionPushFrame;
  /** You pinned, unpinned, muted or unmuted a conversation (here or on another device). */
  'member.prefs': MemberPrefsPushFrame;
  /** Support users only: a support conversation was created, handed off, assigned, resolved, reopened or updated, or got an internal note. */
  support: SupportPushFrame;
  status: StatusChange;
  error: WarblerError;
}

export interface WarblerClientOptions {
  /** The server's base URL, e.g. `https://chat.example.com` (REST) — the socket goes to `/ws` under it. */
  url: string;
  /** A user token, or a function the client calls for a fresh one when the server refuses the old one. */
  token: TokenProvider;
  /** Required in Node (pass `WebSocket` from `ws`); browsers use their own. */
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
  reconnect?: Partial<BackoffOptions>;
  /** Keeps unsent messages across reloads (e.g. `webStorage(localStorage)`). */
  storage?: WarblerStorage;
  /** Storage key for the outbox; by default one per user (`warbler.outbox.<user id>`). */
  storageKey?: string;
  /** Cursors saved from an earlier run (see `cursors()`), to resume from them instead of starting fresh. */
  cursors?: Record<string, number>;
  since?: number;
  /**
   * Newest messages to fetch (as `message` events) for a conversation the
   * client first hears of after its first sync — e.g. one you were added
   * to. 0 fetches none. Default 50.
   */
  backfill?: number;
  /** Messages per conversation in one sync reply; more are paged with `history`. Default 200. */
  syncLimit?: number;
  /** Least time between two typing frames for one conversation. Default 2000. */
  typingThrottleMs?: number;
  /** Give up on a handshake that has not produced `ready` by then. Default 15000. */
  connectTimeoutMs?: number;
}

/** A send in progress: the promise of the stored message, and the id that ties it to the optimistic copy. */
export type PendingSend = Promise<Message> & { client_msg_id: string };

/** What `send` takes: text, a content object (sent as text), or a typed message. */
export type SendInput = string | MessageContent | { type: SendableType; content: MessageContent };

interface Job {
  frame: RequestFrame;
  resolve: (frame: AckFrame | ResultFrame) => void;
  reject: (error: WarblerError) => void;
}

const HISTORY_PAGE = 200;

/**
 * A user's live connection to Warbler. It keeps itself connected, resumes
 * from where it left off, never emits a message twice, and holds sends
 * until the server has stored them.
 */
export class WarblerClient {
  readonly conversations: ConversationsApi;
  /** The support inbox (for users with the support role). */
  readonly support: SupportApi;
  private readonly emitter: Emitter<WarblerEvents>;
  private readonly tokens: TokenSource;
  private readonly rest: Rest;
  private readonly timeline: Timeline;
  private readonly outbox: Outbox;
  private readonly WebSocket: WebSocketConstructor;
  private readonly backoff: BackoffOptions;
  private readonly resumeFromCursors: boolean;

  private state: StatusChange = { status: 'closed', reason: 'idle' };
  private conn: Connection | undefined;
  /** The current connection has resumed: sends and requests may go. */
  private live = false;
  private resuming = false;
  private everSynced = false;
  private attempt = 0;
  /** A fresh token was fetched after an unauthorized close, and has not yet been accepted. */
  private tokenRenewed = false;
  private generation = 0;
  private me: string | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly sendRetries = new Map<string, number>();
  private readonly catchingUp = new Map<string, Connection>();
  private readonly lastTyping = new Map<string, number>();
  private jobs: Job[] = [];
  private connectWaiters: Array<{ resolve: () => void; reject: (error: WarblerError) => void }> = [];

  constructor(private readonly options: WarblerClientOptions) {
    new URL(options.url); // A bad URL is a programming error: fail here, not in a reconnect loop.
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) throw new TypeError('No WebSocket available: in Node, pass `WebSocket` from the `ws` package.');
    this.WebSocket = WebSocketImpl;
    this.backoff = { ...defaultBackoff, ...options.reconnect };
    this.emitter = new Emitter((error, event) => {
      if (event === 'error') return; // An error handler that throws has nowhere left to report to.
      this.emitter.emit('error', new WarblerError('handler', `A '${String(event)}' handler threw: ${describe(error)}`, undefined, error));
    });
    this.tokens = new TokenSource(options.token);
    // Browsers' fetch must be called with `this` = window; a bare reference throws "Illegal invocation".
    const fetcher: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.rest = new Rest(options.url, this.tokens, fetcher);
    this.conversations = new ConversationsApi(this.rest, () => this.whoAmI());
    this.support = new SupportApi(this.rest);
    this.timeline = new Timeline(options.cursors, options.since);
    this.resumeFromCursors = options.cursors !== undefined;
    this.outbox = new Outbox(options.storage, (error) =>
      this.emitter.emit('error', new WarblerError('internal', `The outbox could not be saved or read: ${describe(error)}`, undefined, error)),
    );
  }

  on<K extends keyof WarblerEvents>(event: K, handler: (payload: WarblerEvents[K]) => void): () => void {
    return this.emitter.on(event, handler);
  }

  get status(): Status {
    return this.state.status;
  }

  /** The signed-in user, once the server has said who that is. */
  get userId(): string | undefined {
    return this.me;
  }

  /** Per conversation, the highest seq held with nothing missing: save it (with `since`) to resume a later run. */
  cursors(): Record<string, number> {
    return this.timeline.cursors();
  }

  get since(): number | undefined {
    return this.timeline.since;
  }

  /**
   * Starts connecting (and keeps reconnecting until close()). Resolves when
   * the client is first open and caught up; rejects if it closes for good
   * first (unauthorized, or close()).
   */
  connect(): Promise<void> {
    if (this.state.status === 'open') return Promise.resolve();
    const opened = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.state.status === 'closed') {
      this.attempt = 0;
      this.tokenRenewed = false;
      this.setStatus({ status: 'connecting', reason: 'connect' });
      void this.open();
    }
    return opened;
  }

  /**
   * Tries to reconnect now instead of at the end of the current backoff: for
   * when the app knows the network is back (the browser's `online` event).
   * Does nothing unless the client is waiting to reconnect.
   */
  reconnectNow(): void {
    if (this.state.status !== 'reconnecting' || this.reconnectTimer === undefined) return;
    clearTimeout(this.reconnectTimer);
    void this.open();
  }

  /** Closes the socket and stops reconnecting. Queued sends stay queued (and stored) for the next connect(). */
  close(): void {
    if (this.state.status === 'closed') {
      for (const job of this.jobs.splice(0)) job.reject(new WarblerError('closed', 'The client was closed.'));
      return;
    }
    this.shutdown({ status: 'closed', reason: 'client' }, new WarblerError('closed', 'The client was closed.'));
  }

  /**
   * Sends a message. Resolves with the stored message once the server has
   * it — after however many reconnects that takes; rejects only when the
   * server refuses it (e.g. not_member, bad_request).
   */
  send(conversationId: string, input: SendInput, options: { clientMsgId?: string } = {}): PendingSend {
    const { msg_type, content } = toSendable(input);
    const client_msg_id = options.clientMsgId ?? newClientMsgId();
    const stored = this.outbox.enqueue({ client_msg_id, conversation_id: conversationId, msg_type, content, queued_at: Date.now() });
    this.pump();
    return Object.assign(stored, { client_msg_id });
  }

  /** Sends not yet stored by the server, oldest first (including ones restored from storage). */
  pending(): QueuedSend[] {
    return this.outbox.list();
  }

  /** A page of messages, oldest first: `after` a seq, `before` one, or the newest page. */
  async history(conversationId: string, page: { before?: number; after?: number; limit?: number } = {}): Promise<HistoryResult> {
    const reply = await this.request({ type: 'history', conversation_id: conversationId, ...page });
    return sortedPage((reply as ResultFrame<HistoryResult>).data);
  }

  async markRead(conversationId: string, seq: number): Promise<void> {
    await this.request({ type: 'read', conversation_id: conversationId, seq });
  }

  async markDelivered(conversationId: string, seq: number): Promise<void> {
    await this.request({ type: 'delivered', conversation_id: conversationId, seq });
  }

  /** Tells the others you are typing. Call it on every keystroke; it sends at most every `typingThrottleMs`. */
  typing(conversationId: string): void {
    const conn = this.conn;
    if (!conn || !this.live) return; // Typing is only worth anything right now.
    const now = Date.now();
    if (now - (this.lastTyping.get(conversationId) ?? -Infinity) < (this.options.typingThrottleMs ?? 2_000)) return;
    if (conn.post({ type: 'typing', conversation_id: conversationId })) this.lastTyping.set(conversationId, now);
  }

  async edit(messageId: string, content: string | MessageContent): Promise<Message> {
    const reply = await this.request({ type: 'edit', message_id: messageId, content: typeof content === 'string' ? { text: content } : content });
    return this.changed((reply as ResultFrame<Message>).data);
  }

  async recall(messageId: string): Promise<Message> {
    const reply = await this.request({ type: 'recall', message_id: messageId });
    return this.changed((reply as ResultFrame<Message>).data);
  }

  /** Asks the agent writing this reply to stop. */
  async stop(messageId: string): Promise<void> {
    await this.request({ type: 'stop', message_id: messageId });
  }

  uploadFile(conversationId: string, data: FileData, name: string, mime: string): Promise<StoredFile> {
    return uploadFile(this.rest, conversationId, data, name, mime);
  }

  /**
   * A link to a file for <img src> or a download: it needs no token, so none
   * ends up in a URL, and it lasts a few minutes; ask again once it expires.
   */
  fileLink(fileId: string): Promise<FileLink> {
    return fileLink(this.rest, fileId);
  }

  // ---- connection lifecycle ----

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    const generation = ++this.generation;
    let token: string;
    try {
      token = await this.tokens.current();
    } catch (error) {
      if (generation !== this.generation) return;
      // At first connect a failing token function is the app's bug or a signed-out user: say so.
      // Later it is as likely the network (a token that expired while offline): keep trying.
      if (!this.everSynced) return this.giveUpUnauthorized(error);
      this.report(new WarblerError('unauthorized', `The token function failed: ${describe(error)}`, undefined, error));
      return this.planNext({ code: 1006, beforeReady: true });
    }
    if (generation !== this.generation) return;
    await this.outbox.load(this.options.storageKey ?? `warbler.outbox.${this.tokens.subject() ?? 'default'}`);
    if (generation !== this.generation) return;

    let conn: Connection;
    try {
      conn = new Connection(this.WebSocket, socketUrl(this.options.url), socketProtocols(token), {
        connectTimeoutMs: this.options.connectTimeoutMs ?? 15_000,
        onFrame: (frame) => this.receive(conn, frame),
        onClose: (drop) => this.dropped(conn, drop),
      });
    } catch (error) {
      // E.g. a browser refusing ws:// from an https page: say why, and keep trying as for any failed connect.
      this.report(error);
      this.planNext({ code: 1006, beforeReady: true });
      return;
    }
    this.conn = conn;
    let ready: ReadyFrame;
    try {
      ready = await conn.ready;
    } catch {
      return; // dropped() has already planned what comes next.
    }
    if (this.conn !== conn) return;
    this.me = ready.user_id;
    try {
      await this.resume(conn);
    } catch (error) {
      if (this.conn !== conn) return;
      // The server would not sync; treat it as a failed connection and back off.
      this.report(error);
      conn.close(1000, 'sync failed');
      return;
    }
    if (this.conn !== conn) return;
    this.attempt = 0;
    this.tokenRenewed = false;
    this.everSynced = true;
    this.live = true;
    this.setStatus({ status: 'open', reason: 'ready' });
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.pump();
    this.flushJobs();
  }

  private dropped(conn: Connection, drop: Drop): void {
    if (this.conn !== conn) return;
    this.detach();
    this.planNext(drop);
  }

  private planNext(drop: Drop): void {
    const plan = planReconnect(drop, this.attempt, this.backoff);
    if (plan.reason === 'unauthorized') {
      if (!this.tokens.renewable || this.tokenRenewed) {
        this.giveUpUnauthorized(new WarblerError('unauthorized', 'The server refused the token. Get a new token and connect again.'), drop.code);
        return;
      }
      this.tokenRenewed = true;
      this.setStatus({ status: 'reconnecting', reason: 'unauthorized', code: drop.code, delayMs: 0, attempt: this.attempt });
      const generation = this.generation;
      this.tokens.refresh().then(
        () => {
          if (generation === this.generation && this.state.status === 'reconnecting') void this.open();
        },
        (error: unknown) => {
          if (generation === this.generation) this.giveUpUnauthorized(error, drop.code);
        },
      );
      return;
    }
    if (plan.countsAsFailure) this.attempt++;
    this.setStatus({ status: 'reconnecting', reason: plan.reason, code: drop.code, delayMs: plan.delayMs, attempt: this.attempt });
    this.reconnectTimer = setTimeout(() => void this.open(), plan.delayMs);
  }

  /** Forgets the current socket and everything that was riding on it. */
  private detach(): void {
    this.conn = undefined;
    this.live = false;
    this.resuming = false;
    this.outbox.releaseAll();
    this.sendRetries.clear();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private giveUpUnauthorized(cause: unknown, code?: number): void {
    const error = cause instanceof WarblerError && cause.code === 'unauthorized'
      ? cause
      : new WarblerError('unauthorized', `Could not get a valid token: ${describe(cause)}`, undefined, cause);
    this.shutdown({ status: 'closed', reason: 'unauthorized', ...(code !== undefined && { code }), error }, error);
  }

  private shutdown(status: StatusChange, error: WarblerError): void {
    this.generation++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = this.conn;
    this.detach();
    conn?.close(1000, 'client closed');
    for (const job of this.jobs.splice(0)) job.reject(error);
    this.setStatus(status);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
  }

  private setStatus(change: StatusChange): void {
    this.state = change;
    this.emitter.emit('status', change);
  }

  // ---- resume, ordering and gaps ----

  /** Everything missed while away: sync from the cursors, then page and fill until nothing is missing. */
  private async resume(conn: Connection): Promise<void> {
    this.resuming = true;
    try {
      const since = this.timeline.since;
      const reply = await conn.request({
        type: 'sync',
        cursors: this.timeline.cursors(),
        ...(since !== undefined && { since }),
        limit: this.options.syncLimit ?? 200,
      });
      const result = (reply as ResultFrame<SyncResult>).data;
      // On the very first sync there is nothing "missed": the app pages history itself.
      const fresh = !this.everSynced && !this.resumeFromCursors;
      for (const id of result.removed) this.removedFrom(id, result.ts);
      const followUps: Array<{ id: string; more: boolean; lastSeq?: number }> = [];
      for (const entry of result.conversations) {
        const id = entry.conversation.id;
        if (entry.is_new) {
          this.emitter.emit('conversation', { type: 'conversation', conversation: entry.conversation, ts: result.ts });
          if (fresh) this.emitMessages(this.timeline.begin(id, entry.conversation.last_seq));
          else followUps.push({ id, more: false, lastSeq: entry.conversation.last_seq });
          continue;
        }
        for (const message of sortedPage(entry).messages) this.ingest(message);
        if (entry.has_more) followUps.push({ id, more: true });
      }
      for (const message of result.updated) this.ingestUpdate(message);
      // Reactions have no seq to gap-fill by: the server sends the whole set of each message whose reactions changed since `since`.
      for (const set of result.reactions ?? []) this.emitter.emit('reaction', { type: 'reaction', ...set, ts: result.ts });
      this.timeline.seen(result.ts);
      for (const f of followUps) {
        await this.catchUp(conn, f.id, f.more, f.lastSeq);
        if (this.conn !== conn) return;
      }
      // Pushes that arrived during the sync may have opened gaps of their own.
      for (const id of this.timeline.waiting()) {
        await this.catchUp(conn, id, false);
        if (this.conn !== conn) return;
      }
    } finally {
      if (this.conn === conn) this.resuming = false;
    }
  }

  /**
   * Pulls history until the conversation has no gap (and, with `more`,
   * until the server has nothing newer). One pull per conversation at a time.
   */
  private async catchUp(conn: Connection, id: string, more: boolean, lastSeq?: number): Promise<void> {
    if (this.catchingUp.get(id) === conn) return;
    this.catchingUp.set(id, conn);
    try {
      if (!this.timeline.tracked(id)) await this.beginTracking(conn, id, lastSeq);
      for (;;) {
        const cursor = this.timeline.cursor(id);
        if (cursor === undefined || (!more && this.timeline.gapAfter(id) === undefined)) return;
        const page = await this.historyOn(conn, { conversation_id: id, after: cursor, limit: HISTORY_PAGE });
        for (const message of page.messages) this.ingest(message);
        more = page.has_more;
        if (this.timeline.cursor(id) === cursor) {
          // The server has nothing between the cursor and what is waiting: move on rather than stall.
          this.emitMessages(this.timeline.skipGap(id));
          return;
        }
      }
    } catch (error) {
      if (error instanceof WarblerError && error.code === 'not_member') this.timeline.forget(id);
      else if (!(error instanceof WarblerError && error.code === 'disconnected')) this.report(error);
    } finally {
      if (this.catchingUp.get(id) === conn) this.catchingUp.delete(id);
    }
  }

  /** Starts a conversation the client did not know: with its newest `backfill` messages, or from now. */
  private async beginTracking(conn: Connection, id: string, lastSeq: number | undefined): Promise<void> {
    const backfill = this.options.backfill ?? 50;
    const firstWaiting = this.timeline.firstWaiting(id);
    if (backfill <= 0) {
      this.emitMessages(this.timeline.begin(id, lastSeq ?? (firstWaiting !== undefined ? firstWaiting - 1 : 0)));
      return;
    }
    const page = await this.historyOn(conn, { conversation_id: id, limit: backfill });
    const first = page.messages[0];
    this.emitMessages(this.timeline.begin(id, first ? first.seq - 1 : (lastSeq ?? 0)));
    for (const message of page.messages) this.ingest(message);
  }

  private async historyOn(conn: Connection, frame: { conversation_id: string; after?: number; limit: number }): Promise<HistoryResult> {
    const reply = await conn.request({ type: 'history', ...frame });
    return sortedPage((reply as ResultFrame<HistoryResult>).data);
  }

  private receive(conn: Connection, frame: ServerFrame): void {
    if (this.conn !== conn) return;
    if ('ts' in frame && frame.type !== 'ready') this.timeline.seen(frame.ts);
    switch (frame.type) {
      case 'message':
        this.ingest(frame.message);
        return this.checkGaps(conn, frame.message.conversation_id);
      case 'message.updated':
        this.ingestUpdate(frame.message);
        return this.checkGaps(conn, frame.message.conversation_id);
      case 'member':
        if ((frame.event === 'left' || frame.event === 'removed') && frame.user_id === this.me) this.timeline.forget(frame.conversation_id);
        return this.emitter.emit('member', frame);
      case 'conversation':
        this.emitter.emit('conversation', frame);
        if (!this.resuming && !this.timeline.tracked(frame.conversation.id)) void this.catchUp(conn, frame.conversation.id, false, frame.conversation.last_seq);
        return;
      case 'error':
        return this.report(new WarblerError(frame.code, frame.message));
      case 'message.delta':
      case 'receipt':
      case 'typing':
      case 'agent.state':
      case 'reaction':
      case 'member.prefs':
      case 'support':
        return this.emitter.emit(frame.type, frame as never);
      default:
        return;
    }
  }

  private checkGaps(conn: Connection, id: string): void {
    // During a resume, the resume itself fills whatever the pushes reveal.
    if (this.resuming) return;
    if (!this.timeline.tracked(id) || this.timeline.gapAfter(id) !== undefined) void this.catchUp(conn, id, false);
  }

  private ingest(message: Message): void {
    if (message.sender_id === this.me && this.outbox.stored(message) && this.live) this.pump();
    this.emitMessages(this.timeline.add(message));
  }

  private ingestUpdate(message: Message): void {
    const { updated, added } = this.timeline.update(message);
    this.emitMessages(added);
    if (updated) this.emitter.emit('message.updated', updated);
  }

  /** The result of our own edit or recall; the push of the same change is then not emitted again. */
  private changed(message: Message): Message {
    this.ingestUpdate(message);
    return message;
  }

  private emitMessages(messages: Message[]): void {
    for (const message of messages) this.emitter.emit('message', message);
  }

  private removedFrom(id: string, ts: number): void {
    this.timeline.forget(id);
    this.emitter.emit('member', { type: 'member', conversation_id: id, event: 'removed', user_id: this.me ?? '', member: null, ts });
  }

  // ---- sends and requests ----

  /** Puts each conversation's next queued send on the wire, one at a time per conversation so order holds. */
  private pump(): void {
    const conn = this.conn;
    if (!conn || !this.live) return;
    for (const send of this.outbox.take()) {
      const { client_msg_id, conversation_id, msg_type, content } = send;
      conn.request({ type: 'send', conversation_id, client_msg_id, msg_type, content }).then(
        (reply) => {
          // Anything but an ack breaks the protocol; the entry then waits for the next connection.
          if (reply.type === 'ack') this.acked(conn, reply.message);
          this.sendRetries.delete(client_msg_id);
          this.pump();
        },
        (error: WarblerError) => {
          // Disconnected: the entry was released, and goes again after the next sync.
          if (error.code === 'disconnected') return;
          if (isTransient(error)) return this.retrySend(client_msg_id);
          this.sendRetries.delete(client_msg_id);
          this.outbox.refused(client_msg_id, error);
          this.pump();
        },
      );
    }
  }

  private acked(conn: Connection, message: Message): void {
    this.outbox.stored(message);
    if (this.conn !== conn) return;
    this.emitMessages(this.timeline.add(message));
    this.checkGaps(conn, message.conversation_id);
  }

  private retrySend(clientMsgId: string): void {
    const tries = (this.sendRetries.get(clientMsgId) ?? 0) + 1;
    this.sendRetries.set(clientMsgId, tries);
    // The entry stays on the wire meanwhile, so later sends of its conversation wait behind it.
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.outbox.release(clientMsgId);
      this.pump();
    }, backoffDelay(tries, this.backoff));
    this.retryTimers.add(timer);
  }

  /**
   * A request that survives reconnects: held until the client is open, and
   * sent again if the socket drops before the reply. Every request it is
   * used for is safe to repeat.
   */
  private request(frame: RequestFrame): Promise<AckFrame | ResultFrame> {
    if (this.state.status === 'closed' && this.state.reason !== 'idle') {
      return Promise.reject(new WarblerError('closed', 'The client is closed; connect() first.'));
    }
    return new Promise((resolve, reject) => {
      this.jobs.push({ frame, resolve, reject });
      this.flushJobs();
    });
  }

  private flushJobs(): void {
    const conn = this.conn;
    if (!conn || !this.live) return;
    for (const job of this.jobs.splice(0)) {
      conn.request(job.frame).then(job.resolve, (error: WarblerError) => {
        if (error.code !== 'disconnected') return job.reject(error);
        if (this.state.status === 'closed') return job.reject(new WarblerError('closed', 'The client was closed before the server answered.'));
        this.jobs.push(job);
        this.flushJobs();
      });
    }
  }

  private async whoAmI(): Promise<string> {
    if (this.me) return this.me;
    await this.tokens.current();
    const subject = this.tokens.subject();
    if (!subject) throw new WarblerError('bad_request', 'The signed-in user is not known yet: connect() first.');
    return subject;
  }

  private report(error: unknown): void {
    this.emitter.emit('error', error instanceof WarblerError ? error : new WarblerError('internal', describe(error), undefined, error));
  }
}

function toSendable(input: SendInput): { msg_type: SendableType; content: MessageContent } {
  if (typeof input === 'string') return { msg_type: 'text', content: { text: input } };
  const { type, content } = input as { type?: unknown; content?: unknown };
  if ((type === 'text' || type === 'image' || type === 'file') && typeof content === 'object' && content !== null) {
    return { msg_type: type, content: content as MessageContent };
  }
  return { msg_type: 'text', content: input as MessageContent };
}

/** Ids that stay unique across devices and reloads; randomUUID needs a secure context, hence the fallback. */
function newClientMsgId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sortedPage<T extends { messages: Message[] }>(page: T): T {
  return { ...page, messages: [...page.messages].sort((a, b) => a.seq - b.seq) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
