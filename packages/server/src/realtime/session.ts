import { randomBytes } from 'node:crypto';
import {
  CLIENT_FRAME_TYPES,
  ClientFrame,
  CloseCode,
  MAX_CLIENT_FRAME_BYTES,
  RequestId,
  type ByeFrame,
  type ErrorCode,
  type ServerFrame,
} from '@warbler/protocol';
import type { WebSocket } from 'ws';
import type { Actor, Messages } from '../chat/index.ts';
import { WarblerError } from '../errors.ts';
import { parseBoundedJson } from '../json-shape.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/index.ts';
import type { Connection } from './hub.ts';
import type { FrameBudget } from './frame-budget.ts';
import { TokenBucket } from './rate.ts';

export interface SessionLimits {
  maxBufferedBytes: number;
  sendRate: number;
  sendBurst: number;
}

/** Hands a stop request to whoever is writing the message (the agents room). */
export type StopStreaming = (actor: Actor, messageId: string) => Promise<boolean>;

const MAX_VIOLATIONS = 20;
/** Refused frames in a row (over budget) before the socket is closed. */
const MAX_THROTTLED = 50;
const THROTTLE_RETRY_MS = 10_000;
/** How long a socket over budget is not read from. */
const THROTTLE_PAUSE_MS = 100;
/** A socket closed for abuse gets less time to finish the closing handshake than an honest one. */
const ABUSER_CLOSE_GRACE_MS = 1_000;
const CLOSE_GRACE_MS = 15_000;

// Session ids travel to other nodes in events (except_session): unique per process, not only per node's counter.
const SESSION_PREFIX = `s${randomBytes(4).toString('hex')}.`;
let nextSession = 0;

/**
 * One user's socket: checks and dispatches their frames, and writes pushes
 * to them within a bounded buffer. A client that cannot keep up is closed
 * with 4008 rather than letting its backlog grow in server memory; it
 * resumes from its cursors.
 */
export class Session implements Connection {
  readonly id = `${SESSION_PREFIX}${++nextSession}`;
  alive = true;
  private readonly bucket: TokenBucket;
  private violations = 0;
  private throttled = 0;
  private closed = false;
  private corked = false;
  /** Frames waiting for the socket to drain (see sendRaw); undefined while it keeps up. */
  private held: string[] | undefined;
  private heldBytes = 0;
  private readonly highWater: number;

  constructor(
    private readonly ws: WebSocket,
    readonly appId: string,
    readonly userId: string,
    private readonly messages: Messages,
    private readonly limits: SessionLimits,
    private readonly budget: FrameBudget,
    private readonly stopStreaming: StopStreaming,
    private readonly onError: (err: unknown) => void,
    /** Told when this socket is closed for abuse, with how long its user should stay away. */
    private readonly onAbuse: (retryAfterMs: number) => void = () => {},
  ) {
    this.bucket = new TokenBucket(limits.sendRate, limits.sendBurst);
    this.highWater = Math.min(256 * 1024, Math.max(16 * 1024, limits.maxBufferedBytes / 4));
  }

  sendRaw(data: string): void {
    if (this.closed) return;
    if (this.held) return this.hold(data);
    if (this.ws.bufferedAmount > this.highWater) {
      // The client reads slower than we write: keep further frames here, where
      // they can still be dropped, instead of behind the socket, where they cannot.
      this.held = [];
      this.heldBytes = 0;
      this.underlyingSocket()?.once('drain', () => this.flushHeld());
      return this.hold(data);
    }
    this.cork();
    this.ws.send(data);
  }

  private hold(data: string): void {
    this.held!.push(data);
    this.heldBytes += data.length;
    if (this.heldBytes > this.limits.maxBufferedBytes) {
      // Drop what it has not read: it resumes from its cursors. Only the
      // socket's high-water mark is now ahead of the close frame, so even a
      // slow reader gets 4008 (and knows why) instead of a dead socket.
      this.held = undefined;
      this.close(CloseCode.slowConsumer, 'slow consumer: reconnect and sync');
    }
  }

  private flushHeld(): void {
    const held = this.held;
    if (!held || this.closed) return;
    let sent = 0;
    while (sent < held.length && this.ws.bufferedAmount <= this.highWater) this.ws.send(held[sent++]!);
    held.splice(0, sent);
    if (held.length === 0) this.held = undefined;
    else {
      this.heldBytes = held.reduce((n, d) => n + d.length, 0);
      this.underlyingSocket()?.once('drain', () => this.flushHeld());
    }
  }

  private underlyingSocket(): { once(event: 'drain', listener: () => void): void; cork(): void; uncork(): void } | undefined {
    return (this.ws as unknown as { _socket?: { once(event: 'drain', listener: () => void): void; cork(): void; uncork(): void } })._socket;
  }

  /**
   * Holds this socket's writes until the current batch of work is done, so
   * several frames for one client leave in one syscall instead of one each.
   */
  private cork(): void {
    if (this.corked) return;
    const socket = this.underlyingSocket();
    if (!socket) return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  close(code: number, reason: string, bye?: ByeFrame, graceMs = CLOSE_GRACE_MS): void {
    if (this.closed) return;
    this.closed = true;
    if (bye && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(bye));
    this.ws.close(code, reason);
    // A peer that never completes the closing handshake must not hold the socket (and its buffer) for long.
    setTimeout(() => this.ws.terminate(), graceMs).unref();
  }

  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  async receive(raw: Buffer | string, isBinary: boolean): Promise<void> {
    // A socket being closed (for abuse, or slowness) gets no more work done for it.
    if (this.closed) return;
    this.alive = true;
    if (isBinary) return this.violation(undefined, 'bad_request', 'Frames are JSON text; binary frames are not accepted.');
    // Out of budget: refused before parsing, the cheapest possible answer to a flood.
    if (this.budget.exhausted()) return this.throttle(undefined);
    const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
    if (size > MAX_CLIENT_FRAME_BYTES) {
      return this.violation(undefined, 'payload_too_large', `Frames are at most ${MAX_CLIENT_FRAME_BYTES} bytes; this one was ${size}. Upload large content as a file.`);
    }
    const parsedJson = parseBoundedJson(raw.toString());
    if (!parsedJson.ok) {
      return this.violation(frameId(parsedJson.value), 'bad_request', parsedJson.reason === 'syntax' ? 'The frame is not valid JSON.' : `The frame was refused: ${parsedJson.message}`);
    }
    const json = parsedJson.value;
    const id = frameId(json);
    const type = (json as { type?: unknown })?.type;
    if (typeof type !== 'string' || !CLIENT_FRAME_TYPES.has(type)) {
      return this.violation(id, 'unknown_frame', `Unknown frame type ${JSON.stringify(type)}. See docs/protocol.md for the frames a client may send.`);
    }
    const parsed = ClientFrame.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.violation(id, 'bad_request', `Invalid ${type} frame: ${issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'bad fields'}.`);
    }
    if (!this.budget.admit(parsed.data.type)) return this.throttle(id);
    this.throttled = 0;
    this.budget.begin();
    try {
      await this.dispatch(parsed.data);
    } catch (err) {
      if (err instanceof WarblerError) {
        this.send({ type: 'error', id, code: err.code, message: err.message });
      } else if (isStoreUnavailable(err)) {
        // Still reported to the operator, but the client is told to retry: the SDK does, with backoff.
        this.onError(err);
        const unavailable = storeUnavailable();
        this.send({ type: 'error', id, code: unavailable.code, message: unavailable.message });
      } else {
        this.onError(err);
        this.send({ type: 'error', id, code: 'internal', message: 'Something went wrong on the server; nothing was changed. Try again.' });
      }
    } finally {
      this.budget.end();
    }
  }

  private async dispatch(frame: ClientFrame): Promise<void> {
    const actor: Actor = { appId: this.appId, userId: this.userId, sessionId: this.id };
    switch (frame.type) {
      case 'send': {
        if (!this.bucket.take()) throw new WarblerError('rate_limited', 'You are sending too fast; this message was not stored. Wait a moment and resend it with the same client_msg_id.');
        const { message, duplicate } = await this.messages.send(actor, {
          conversation_id: frame.conversation_id,
          client_msg_id: frame.client_msg_id,
          type: frame.msg_type,
          content: frame.content,
        });
        this.send({ type: 'ack', id: frame.id, message, duplicate });
        return;
      }
      case 'sync':
        this.send({ type: 'result', id: frame.id, data: await this.messages.sync(actor, frame.cursors, frame.since, frame.limit) });
        return;
      case 'history':
        this.send({ type: 'result', id: frame.id, data: await this.messages.history(actor, frame.conversation_id, frame) });
        return;
      case 'read':
      case 'delivered': {
        const mark = frame.type === 'read' ? this.messages.markRead : this.messages.markDelivered;
        const data = await mark.call(this.messages, actor, frame.conversation_id, frame.seq);
        if (frame.id) this.send({ type: 'result', id: frame.id, data });
        return;
      }
      case 'typing':
        if (!this.bucket.take()) return;
        await this.messages.typing(actor, frame.conversation_id);
        return;
      case 'edit':
        if (!this.bucket.take()) throw new WarblerError('rate_limited', 'Too many changes at once; wait a moment and try again.');
        this.send({ type: 'result', id: frame.id, data: await this.messages.edit(actor, frame.message_id, frame.content) });
        return;
      case 'recall':
        if (!this.bucket.take()) throw new WarblerError('rate_limited', 'Too many changes at once; wait a moment and try again.');
        this.send({ type: 'result', id: frame.id, data: await this.messages.recall(actor, frame.message_id) });
        return;
      case 'stop': {
        const stopped = await this.stopStreaming(actor, frame.message_id);
        this.send({ type: 'result', id: frame.id, data: { stopped } });
        return;
      }
      case 'ping':
        this.send({ type: 'pong', id: frame.id, ts: Date.now() });
        return;
    }
  }

  /**
   * A frame over the user's budget: refused with rate_limited (nothing was
   * done). A client that keeps going regardless is closed with 4009 and told
   * how long to stay away.
   */
  private throttle(id: string | undefined): void {
    if (++this.throttled > MAX_THROTTLED) {
      const bye: ByeFrame = { type: 'bye', code: CloseCode.policy, reason: 'rate limited: too many requests', retry_after_ms: THROTTLE_RETRY_MS };
      this.onAbuse(THROTTLE_RETRY_MS);
      return this.close(CloseCode.policy, 'rate limited: too many requests', bye, ABUSER_CLOSE_GRACE_MS);
    }
    if (id !== undefined) this.send({ type: 'error', id, code: 'rate_limited', message: 'Too many requests on this connection; nothing was done. Slow down and retry in a second.' });
    // Stop reading for a moment: the client's next frames wait in TCP buffers
    // (its own sends slow down) instead of costing this server a parse and a refusal each.
    if (!this.ws.isPaused) {
      this.ws.pause();
      setTimeout(() => {
        if (!this.closed) this.ws.resume();
      }, THROTTLE_PAUSE_MS).unref();
    }
  }

  private violation(id: string | undefined, code: ErrorCode, message: string): void {
    this.send({ type: 'error', id, code, message });
    if (++this.violations > MAX_VIOLATIONS) this.close(CloseCode.policy, 'too many invalid frames');
  }
}

/** A frame's request id, when it has a usable one, so even a refusal can be matched to its request. */
function frameId(frame: unknown): string | undefined {
  // The frame schema's own rule, so an id the schema accepts is always echoed (zod counts code points:
  // fifty emoji are 100 UTF-16 units but a valid id, and its reply must carry it back).
  const id = (frame as { id?: unknown } | undefined)?.id;
  return RequestId.safeParse(id).success && !(id as string).includes('\u0000') ? (id as string) : undefined;
}
