import type { AckFrame, ByeFrame, ClientFrameInput, ReadyFrame, ResultFrame, ServerFrame, WsAuth as ServerWsAuth } from '@warbler/protocol';
import type { Drop } from './backoff.ts';
import { WarblerError } from './errors.ts';

/**
 * The part of the WebSocket API the SDK uses. Both the browser's WebSocket
 * and Node's `ws` fit it; their event objects differ, hence the `any`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

/** What only `ws` offers: protocol-level pings to feed the watchdog, and a hard close for a dead peer. */
interface NodeSocketExtras {
  on?: (event: string, listener: () => void) => unknown;
  terminate?: () => void;
}

const OPEN = 1;
const noop = () => {};

/**
 * How the token travels to the server: as a subprotocol, never in the URL.
 * Repeated from `@warbler/protocol` (WsAuth) for the same reason as the close codes.
 */
export const WsAuth = { subprotocol: 'warbler', tokenPrefix: 'warbler.token.' } as const satisfies typeof ServerWsAuth;

/** The server's base URL (http, https, ws or wss, with any path prefix) to its WebSocket endpoint. */
export function socketUrl(base: string): string {
  const url = new URL(base);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  url.search = '';
  return url.toString();
}

/** The subprotocols a connection offers: Warbler's own, and the one carrying the token. */
export function socketProtocols(token: string): string[] {
  return [WsAuth.subprotocol, `${WsAuth.tokenPrefix}${token}`];
}

/** The server's base URL to the one REST paths hang off. */
export function restUrl(base: string, path: string): string {
  const url = new URL(base);
  url.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}${path}`;
}

/** Frames the client sends with a request id; the id is filled in per socket. */
export type RequestFrame = ClientFrameInput extends infer F ? (F extends unknown ? Omit<F, 'id'> : never) : never;

export interface ConnectionOptions {
  connectTimeoutMs: number;
  /** Pushes, and error frames that answer no request. */
  onFrame: (frame: ServerFrame) => void;
  onClose: (drop: Drop) => void;
}

/**
 * One socket, from handshake to close: JSON frames in and out, requests
 * matched to their replies, and a watchdog that gives up on a silent peer.
 * It never reconnects; the client makes a new Connection for that.
 */
export class Connection {
  readonly ready: Promise<ReadyFrame>;
  private readonly socket: WebSocketLike;
  private readonly pending = new Map<string, { resolve: (frame: AckFrame | ResultFrame) => void; reject: (error: WarblerError) => void }>();
  private nextId = 0;
  private done = false;
  private isReady = false;
  private bye: ByeFrame | undefined;
  private refusedWith401 = false;
  private lastHeard = Date.now();
  private lastPing = 0;
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setInterval> | undefined;
  private settleReady!: { resolve: (ready: ReadyFrame) => void; reject: (error: WarblerError) => void };

  constructor(WebSocket: WebSocketConstructor, url: string, protocols: string[], private readonly options: ConnectionOptions) {
    this.ready = new Promise((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    // Nobody may be waiting on it when the socket dies before `ready`.
    this.ready.catch(noop);
    this.socket = new WebSocket(url, protocols);
    this.socket.onmessage = (event: { data: unknown }) => this.receive(event.data);
    this.socket.onclose = (event: { code?: number; reason?: string }) =>
      this.finish({ code: event.code ?? 1006, beforeReady: !this.isReady, unauthorized: this.refusedWith401 });
    this.socket.onerror = (event: { message?: unknown }) => {
      // Browsers hide why a handshake failed; Node's ws says "Unexpected server response: 401".
      if (typeof event?.message === 'string' && /\b401\b/.test(event.message)) this.refusedWith401 = true;
    };
    (this.socket as NodeSocketExtras).on?.('ping', () => this.heard());
    this.timer = setTimeout(() => this.abandon('connect_timeout'), options.connectTimeoutMs);
  }

  /** Sends a frame that expects an ack or result; rejects with the server's error, or `disconnected`. */
  request(frame: RequestFrame): Promise<AckFrame | ResultFrame> {
    if (this.done) return Promise.reject(new WarblerError('disconnected', 'The connection is closed.'));
    const id = `r${++this.nextId}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.post({ ...frame, id } as ClientFrameInput)) {
        this.pending.delete(id);
        reject(new WarblerError('disconnected', 'The connection is not open.'));
      }
    });
  }

  /** Sends a frame that expects no reply. False when the socket cannot take it. */
  post(frame: ClientFrameInput): boolean {
    if (this.done || this.socket.readyState !== OPEN) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  close(code = 1000, reason = 'client closed'): void {
    if (this.done) return;
    this.detach();
    try {
      this.socket.close(code, reason);
    } catch {
      // Already closing: nothing to do.
    }
    this.finish({ code, beforeReady: !this.isReady });
  }

  private receive(data: unknown): void {
    this.heard();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      this.options.onFrame({ type: 'error', code: 'bad_request', message: 'The server sent a frame that is not JSON.' });
      return;
    }
    switch (frame.type) {
      case 'ready':
        if (this.isReady) return;
        this.isReady = true;
        this.watch(frame.heartbeat_ms);
        this.settleReady.resolve(frame);
        return;
      case 'ack':
      case 'result': {
        const waiter = this.pending.get(frame.id);
        this.pending.delete(frame.id);
        waiter?.resolve(frame);
        return;
      }
      case 'error': {
        const waiter = frame.id === undefined ? undefined : this.pending.get(frame.id);
        if (!waiter) return this.options.onFrame(frame);
        this.pending.delete(frame.id as string);
        waiter.reject(new WarblerError(frame.code, frame.message));
        return;
      }
      case 'bye':
        this.bye = frame;
        return;
      case 'pong':
        return;
      default:
        this.options.onFrame(frame);
    }
  }

  private heard(): void {
    this.lastHeard = Date.now();
  }

  /**
   * Browsers never see the server's WebSocket pings, so the client pings
   * when the line goes quiet and treats any frame as a sign of life.
   */
  private watch(heartbeatMs: number): void {
    clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    const every = Math.max(10, Math.floor(heartbeatMs / 4));
    this.lastHeard = Date.now();
    this.timer = setInterval(() => {
      const quiet = Date.now() - this.lastHeard;
      if (quiet >= 2 * heartbeatMs) return this.abandon('heartbeat_timeout');
      if (quiet >= heartbeatMs && Date.now() - this.lastPing >= heartbeatMs) {
        this.lastPing = Date.now();
        this.post({ type: 'ping' });
      }
    }, every);
  }

  /** Gives up on a peer that went silent; a polite close could wait on a dead TCP link for long. */
  private abandon(cause: 'heartbeat_timeout' | 'connect_timeout'): void {
    if (this.done) return;
    this.detach();
    const extras = this.socket as NodeSocketExtras;
    try {
      if (extras.terminate) extras.terminate();
      else this.socket.close(4000, cause);
    } catch {
      // The socket may be half-built; it is abandoned either way.
    }
    this.finish({ code: 1006, beforeReady: !this.isReady, cause });
  }

  private detach(): void {
    // No-ops rather than null: ws throws on an 'error' event nobody listens to.
    this.socket.onopen = noop;
    this.socket.onmessage = noop;
    this.socket.onclose = noop;
    this.socket.onerror = noop;
  }

  private finish(drop: Drop): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    clearInterval(this.timer as ReturnType<typeof setInterval>);
    const gone = new WarblerError('disconnected', 'The connection closed before the server answered.');
    for (const waiter of this.pending.values()) waiter.reject(gone);
    this.pending.clear();
    this.settleReady.reject(gone);
    if (this.bye) drop.retryAfterMs = this.bye.retry_after_ms;
    this.options.onClose(drop);
  }
}
