import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Conversation, Message, MessageContent, PushFrame, ServerFrame, SyncConversation } from '@warbler/protocol';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A small Warbler protocol peer for the SDK's tests: it keeps real state
 * (conversations, members, messages with dense seqs, client_msg_id
 * idempotency) and answers frames as docs/protocol.md says, so the client is
 * tested against behaviour, not canned replies. The knobs let a test drop,
 * refuse, silence or close sockets the way a real network and server do.
 */

type Frame = Record<string, unknown> & { type: string; id?: string };

export interface PeerSocket {
  ws: WebSocket;
  user: string;
  token: string;
  /** Nothing more is written to it: its replies are lost. */
  muted?: boolean;
}

/**
 * What a test hook may decide about one client frame: cut the socket before
 * handling it, handle it but lose the reply and cut (the ack is lost), or
 * ignore it.
 */
export type FrameVerdict = 'drop-before' | 'drop-after' | 'ignore' | undefined;

export class ScriptedPeer {
  readonly received: Array<{ user: string; frame: Frame; at: number }> = [];
  readonly handshakes: Array<{ at: number; token: string; outcome: number }> = [];
  readonly sockets = new Set<PeerSocket>();
  /** token → user id; a token not in here is refused with 401. */
  readonly tokens = new Map<string, string>();
  heartbeatMs = 25_000;
  /** Refuse upgrades with 503, as a server that is down behind a proxy. */
  refuse = false;
  /** Accept but never answer anything (a dead peer behind a live TCP connection). */
  silent = false;
  /** Inspect or sabotage a client frame; return a verdict or undefined to handle it normally. */
  hook: ((frame: Frame, socket: PeerSocket) => FrameVerdict | { error: string }) | undefined;

  private readonly conversations = new Map<string, { conversation: Conversation; members: Set<string>; messages: Message[] }>();
  private clock = 1_700_000_000_000;
  private ids = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<ScriptedPeer> {
    let peer!: ScriptedPeer;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/ws',
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, status?: number) => void) => peer.verify(info.req, done),
    });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    peer = new ScriptedPeer(server, `http://127.0.0.1:${port}`);
    server.on('connection', (ws, req) => peer.accept(ws, req));
    return peer;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- state a test sets up ----

  addConversation(id: string, members: string[], kind: Conversation['kind'] = 'group'): Conversation {
    const now = this.now();
    const conversation: Conversation = {
      id, app_id: 'app_test', kind, title: null, last_seq: 0, last_message_at: null, created_by: members[0] ?? null, created_at: now, updated_at: now,
    };
    this.conversations.set(id, { conversation, members: new Set(members), messages: [] });
    return conversation;
  }

  /** Adds a member and tells them, as the server does: a `conversation` push to them, `member` to the rest. */
  addMember(conversationId: string, userId: string): void {
    const c = this.conv(conversationId);
    c.members.add(userId);
    const ts = this.now();
    this.pushToUser(userId, { type: 'conversation', conversation: { ...c.conversation }, ts });
    this.pushToConversation(conversationId, {
      type: 'member', conversation_id: conversationId, event: 'joined', user_id: userId, ts,
      member: { conversation_id: conversationId, user_id: userId, role: 'member', read_seq: 0, delivered_seq: 0, muted: false, joined_at: ts },
    });
  }

  removeMember(conversationId: string, userId: string): void {
    this.conv(conversationId).members.delete(userId);
  }

  /** Stores a message from someone; `push: false` loses the push, as a server bug or a lost frame would. */
  post(conversationId: string, senderId: string, text: string, options: { push?: boolean } = {}): Message {
    const message = this.append(conversationId, senderId, null, 'text', { text });
    if (options.push !== false) this.pushToConversation(conversationId, { type: 'message', message, ts: message.created_at });
    return message;
  }

  edit(messageId: string, text: string, options: { push?: boolean } = {}): Message {
    const message = this.update(messageId, { content: { text }, edited_at: this.now() });
    if (options.push !== false) this.pushToConversation(message.conversation_id, { type: 'message.updated', message, ts: message.updated_at });
    return message;
  }

  messages(conversationId: string): Message[] {
    return this.conv(conversationId).messages;
  }

  /** Frames of one type the peer received, in arrival order. */
  framesOf(type: string): Frame[] {
    return this.received.filter((r) => r.frame.type === type).map((r) => r.frame);
  }

  // ---- the network misbehaving ----

  /** Cuts every socket without a close handshake. */
  dropAll(): void {
    for (const s of this.sockets) s.ws.terminate();
    this.sockets.clear();
  }

  /** Closes every socket on purpose, with `bye` first when given, as the server does. */
  closeAll(code: number, reason = '', retryAfterMs?: number): void {
    for (const s of this.sockets) {
      if (retryAfterMs !== undefined) this.write(s, { type: 'bye', code, reason, retry_after_ms: retryAfterMs });
      s.ws.close(code, reason);
    }
    this.sockets.clear();
  }

  /** Writes a frame as is: for duplicates, or anything a test wants the client to hear. */
  pushToUser(userId: string, frame: ServerFrame): void {
    for (const s of this.sockets) if (s.user === userId) this.write(s, frame);
  }

  // ---- the protocol ----

  private verify(req: IncomingMessage, done: (ok: boolean, status?: number) => void): void {
    const token = tokenOf(req);
    const outcome = this.refuse ? 503 : this.tokens.has(token) ? 101 : 401;
    this.handshakes.push({ at: Date.now(), token, outcome });
    if (outcome === 101) done(true);
    else done(false, outcome);
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const token = tokenOf(req);
    const socket: PeerSocket = { ws, user: this.tokens.get(token) ?? '', token };
    this.sockets.add(socket);
    ws.on('close', () => this.sockets.delete(socket));
    ws.on('message', (data) => this.receive(socket, String(data)));
    this.write(socket, { type: 'ready', user_id: socket.user, app_id: 'app_test', heartbeat_ms: this.heartbeatMs, ts: this.now() });
  }

  private receive(socket: PeerSocket, text: string): void {
    if (this.silent || !this.sockets.has(socket)) return;
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      return this.write(socket, { type: 'error', code: 'bad_request', message: 'Frames are JSON.' });
    }
    this.received.push({ user: socket.user, frame, at: Date.now() });
    const verdict = this.hook?.(frame, socket);
    if (verdict === 'ignore') return;
    if (verdict === 'drop-before') return this.cut(socket);
    if (typeof verdict === 'object') return this.error(socket, frame.id, verdict.error);
    if (verdict === 'drop-after') socket.muted = true;
    try {
      this.handle(socket, frame);
    } catch (error) {
      this.error(socket, frame.id, (error as Error).message);
    }
    if (verdict === 'drop-after') this.cut(socket);
  }

  private handle(s: PeerSocket, f: Frame): void {
    switch (f.type) {
      case 'ping':
        return this.write(s, { type: 'pong', ...(f.id !== undefined && { id: f.id }), ts: this.now() });
      case 'send': {
        const conversationId = String(f.conversation_id);
        const clientMsgId = String(f.client_msg_id);
        const existing = this.conv(conversationId).messages.find((m) => m.sender_id === s.user && m.client_msg_id === clientMsgId);
        if (existing) return this.write(s, { type: 'ack', id: String(f.id), message: existing, duplicate: true });
        const message = this.append(conversationId, s.user, clientMsgId, (f.msg_type as Message['type']) ?? 'text', f.content as MessageContent);
        // As the server does: the sender's own socket hears the ack, every other socket the push.
        this.pushToConversation(conversationId, { type: 'message', message, ts: message.created_at }, s);
        return this.write(s, { type: 'ack', id: String(f.id), message, duplicate: false });
      }
      case 'sync':
        return this.write(s, { type: 'result', id: String(f.id), data: this.sync(s.user, f) });
      case 'history': {
        const c = this.member(s.user, String(f.conversation_id));
        return this.write(s, { type: 'result', id: String(f.id), data: page(c.messages, f) });
      }
      case 'read':
      case 'delivered': {
        this.member(s.user, String(f.conversation_id));
        const seq = Number(f.seq);
        this.pushToConversation(String(f.conversation_id), { type: 'receipt', conversation_id: String(f.conversation_id), user_id: s.user, kind: f.type, seq, ts: this.now() });
        if (f.id !== undefined) this.write(s, { type: 'result', id: f.id, data: { read_seq: seq, delivered_seq: seq } });
        return;
      }
      case 'typing':
        for (const other of this.sockets) {
          if (other.user !== s.user && this.conv(String(f.conversation_id)).members.has(other.user)) {
            this.write(other, { type: 'typing', conversation_id: String(f.conversation_id), user_id: s.user, ts: this.now() });
          }
        }
        return;
      case 'edit':
      case 'recall': {
        const patch = f.type === 'edit'
          ? { content: f.content as MessageContent, edited_at: this.now() }
          : { content: {}, state: 'recalled' as const };
        const message = this.update(String(f.message_id), patch);
        this.write(s, { type: 'result', id: String(f.id), data: message });
        return this.pushToConversation(message.conversation_id, { type: 'message.updated', message, ts: message.updated_at });
      }
      case 'stop':
        return this.write(s, { type: 'result', id: String(f.id), data: { stopped: true } });
      default:
        return this.error(s, f.id, 'unknown_frame');
    }
  }

  private sync(user: string, f: Frame) {
    const cursors = (f.cursors ?? {}) as Record<string, number>;
    const limit = Number(f.limit ?? 200);
    const since = f.since as number | undefined;
    const conversations: SyncConversation[] = [];
    const mine = [...this.conversations.values()].filter((c) => c.members.has(user));
    for (const c of mine) {
      const cursor = cursors[c.conversation.id];
      if (cursor === undefined) {
        conversations.push({ conversation: { ...c.conversation }, messages: [], has_more: c.conversation.last_seq > 0, is_new: true });
      } else if (c.conversation.last_seq > cursor) {
        const { messages, has_more } = page(c.messages, { after: cursor, limit });
        conversations.push({ conversation: { ...c.conversation }, messages, has_more, is_new: false });
      }
    }
    const updated = since === undefined ? [] : mine.flatMap((c) =>
      c.messages.filter((m) => m.updated_at > since && m.updated_at !== m.created_at && m.seq <= (cursors[c.conversation.id] ?? 0)));
    const removed = Object.keys(cursors).filter((id) => !this.conversations.get(id)?.members.has(user));
    return { conversations, updated, removed, ts: this.now() };
  }

  private append(conversationId: string, senderId: string, clientMsgId: string | null, type: Message['type'], content: MessageContent): Message {
    const c = this.conv(conversationId);
    if (!c.members.has(senderId)) throw new Error('not_member');
    const now = this.now();
    const message: Message = {
      id: `msg_${++this.ids}`, app_id: 'app_test', conversation_id: conversationId, seq: c.conversation.last_seq + 1,
      sender_id: senderId, client_msg_id: clientMsgId, type, content, state: 'complete', created_at: now, updated_at: now, edited_at: null,
    };
    c.messages.push(message);
    c.conversation.last_seq = message.seq;
    c.conversation.last_message_at = now;
    return message;
  }

  private update(messageId: string, patch: Partial<Message>): Message {
    for (const c of this.conversations.values()) {
      const index = c.messages.findIndex((m) => m.id === messageId);
      const found = c.messages[index];
      if (found) {
        const next = { ...found, ...patch, updated_at: this.now() };
        c.messages[index] = next;
        return next;
      }
    }
    throw new Error('not_found');
  }

  private pushToConversation(conversationId: string, frame: PushFrame, except?: PeerSocket): void {
    const members = this.conv(conversationId).members;
    for (const s of this.sockets) if (s !== except && members.has(s.user)) this.write(s, frame);
  }

  private member(user: string, conversationId: string) {
    const c = this.conv(conversationId);
    if (!c.members.has(user)) throw new Error('not_member');
    return c;
  }

  private conv(id: string) {
    const c = this.conversations.get(id);
    if (!c) throw new Error('not_found');
    return c;
  }

  private error(s: PeerSocket, id: string | undefined, code: string): void {
    this.write(s, { type: 'error', ...(id !== undefined && { id }), code, message: `peer: ${code}` } as ServerFrame);
  }

  private cut(s: PeerSocket): void {
    this.sockets.delete(s);
    s.ws.terminate();
  }

  private write(s: PeerSocket, frame: ServerFrame): void {
    if (this.silent || s.muted || s.ws.readyState !== WebSocket.OPEN) return;
    s.ws.send(JSON.stringify(frame));
  }

  /** Strictly increasing server time, so `since` comparisons are exact. */
  private now(): number {
    this.clock = Math.max(this.clock + 1, Date.now());
    return this.clock;
  }
}

function page(messages: Message[], f: Record<string, unknown>): { messages: Message[]; has_more: boolean } {
  const limit = Number(f.limit ?? 50);
  if (f.after !== undefined) {
    const rest = messages.filter((m) => m.seq > Number(f.after));
    return { messages: rest.slice(0, limit), has_more: rest.length > limit };
  }
  const rest = f.before === undefined ? messages : messages.filter((m) => m.seq < Number(f.before));
  return { messages: rest.slice(Math.max(0, rest.length - limit)), has_more: rest.length > limit };
}

/** The token the client offered as a `warbler.token.<token>` subprotocol, as the real server reads it. */
function tokenOf(req: IncomingMessage): string {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith('warbler.token.'))?.slice('warbler.token.'.length) ?? '';
}
