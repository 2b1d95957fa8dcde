import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, MAX_CLIENT_FRAME_BYTES, WsAuth, type ByeFrame } from '@warbler/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import type { Messages } from '../chat/index.ts';
import { WarblerError } from '../errors.ts';
import { isStoreUnavailable } from '../store/index.ts';
import type { Authenticator } from '../tenancy/index.ts';
import type { Hub } from './hub.ts';
import { FrameBudget } from './frame-budget.ts';
import { AddressLimiter } from './address-limiter.ts';
import { Session, type SessionLimits, type StopStreaming } from './session.ts';

export interface RealtimeOptions extends SessionLimits {
  heartbeatMs: number;
  path?: string;
  /** Each user's share over all their sockets (see FrameBudget). */
  frameRate: number;
  frameBurst: number;
  maxInFlight: number;
  maxSocketsPerUser: number;
  /** WebSocket handshakes per second from one IP address, and the burst. */
  handshakeRate: number;
  handshakeBurst: number;
}

/**
 * ws closes a socket whose frame is over maxPayload with a bare 1009 and no
 * reason. A frame that large breaks the protocol (64 KiB at most), so it is
 * closed like every other breach: 4009 (back off), with a reason a client can show.
 */
class WarblerSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    if (code === 1009 && data === undefined) return super.close(CloseCode.policy, `frame too large: at most ${MAX_CLIENT_FRAME_BYTES} bytes`);
    super.close(code, data);
  }
}

/**
 * The WebSocket endpoint: authenticates the upgrade, runs a Session per
 * socket, and keeps sockets honest with one heartbeat timer for all of them.
 */
export class RealtimeGateway {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // Compression costs ~300 KB of zlib state per socket under load; chat frames are small.
    perMessageDeflate: false,
    // Frames between 64 KiB and this get a clear error frame; beyond it ws closes with 1009.
    maxPayload: 1024 * 1024,
    WebSocket: WarblerSocket,
    clientTracking: false,
    // A client that offers Warbler's subprotocol (with its token beside it) gets it selected; see WsAuth.
    handleProtocols: (protocols) => (protocols.has(WsAuth.subprotocol) ? WsAuth.subprotocol : false),
  });
  private readonly sessions = new Set<Session>();
  /** One budget per connected user (app + user id), shared by their sockets. */
  private readonly budgets = new Map<string, FrameBudget>();
  private readonly handshakes: AddressLimiter;
  /** Users closed for flooding, until when their new sockets are turned away at once. */
  private readonly penalties = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;
  stopStreaming: StopStreaming = async () => false;

  constructor(
    private readonly hub: Hub,
    private readonly messages: Messages,
    private readonly auth: Authenticator,
    private readonly options: RealtimeOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.handshakes = new AddressLimiter(options.handshakeRate, options.handshakeBurst);
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== (this.options.path ?? '/ws')) return void reject(socket, 404, 'Not Found');
      void this.upgrade(req, socket, head, protocolTokenOf(req) ?? bearerOf(req) ?? url.searchParams.get('token') ?? undefined);
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Stops taking sockets and closes the open ones with a reconnect hint. */
  shutdown(retryAfterMs: number): void {
    this.accepting = false;
    clearInterval(this.heartbeat);
    const bye: ByeFrame = { type: 'bye', code: CloseCode.restart, reason: 'server restarting', retry_after_ms: retryAfterMs };
    for (const session of [...this.sessions]) session.close(CloseCode.restart, 'server restarting', bye);
  }

  /**
   * Asks every socket to reconnect within `spreadMs` (each at a random
   * moment, so they do not all sync at once): on reconnect a client syncs
   * from its seq cursors, recovering events other nodes published while this
   * node could not hear them.
   */
  resync(spreadMs: number): void {
    const reason = 'resync after a cluster outage';
    for (const session of [...this.sessions]) {
      session.close(CloseCode.restart, reason, { type: 'bye', code: CloseCode.restart, reason, retry_after_ms: Math.floor(Math.random() * spreadMs) });
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, token: string | undefined): Promise<void> {
    if (!this.accepting) return reject(socket, 503, 'Service Unavailable');
    // Before any work on the token: a handshake flood from one address is refused for the price of a write.
    if (!this.handshakes.admit(req.socket.remoteAddress ?? '')) return reject(socket, 429, 'Too Many Requests', 'retry-after: 1\r\n');
    if (!token) return this.refuse(req, socket, head, new WarblerError('unauthorized', 'No token: offer the subprotocols "warbler" and "warbler.token.<user token>" (the SDK does), or send Authorization: Bearer <user token>.'));
    let principal: { appId: string; userId: string };
    try {
      principal = await this.auth.user(token);
    } catch (err) {
      if (err instanceof WarblerError) return this.refuse(req, socket, head, err);
      this.onError(err);
      // Either way the client sees a failed handshake and retries with backoff; 503 tells a proxy or a log reader why.
      return isStoreUnavailable(err) ? reject(socket, 503, 'Service Unavailable') : reject(socket, 500, 'Internal Server Error');
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, principal.appId, principal.userId));
  }

  /**
   * A token that is missing, invalid, expired or revoked: the handshake
   * completes and the socket closes at once with 4001 after an error frame.
   * A browser cannot read the status of a refused upgrade (it sees 1006, like
   * a network failure, and would retry with the same token forever); a close
   * code it can read, and the SDK knows 4001 means "get a new token".
   */
  private refuse(req: IncomingMessage, socket: Duplex, head: Buffer, err: WarblerError): void {
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const code = err.code === 'token_expired' ? 'token_expired' : 'unauthorized';
      ws.send(JSON.stringify({ type: 'error', code, message: err.message }));
      ws.close(CloseCode.unauthorized, code);
    });
  }

  private open(ws: WebSocket, appId: string, userId: string): void {
    const key = `${appId}\u0000${userId}`;
    let budget = this.budgets.get(key);
    if (!budget) {
      budget = new FrameBudget({ rate: this.options.frameRate, burst: this.options.frameBurst, maxInFlight: this.options.maxInFlight });
      this.budgets.set(key, budget);
    }
    const penaltyMs = (this.penalties.get(key) ?? 0) - Date.now();
    if (penaltyMs > 0) return turnAway(ws, 'rate limited: too many requests', penaltyMs);
    if (penaltyMs <= 0) this.penalties.delete(key);
    // Many sockets would multiply the user's send rate and buffers; the budget is shared, the buffers are not.
    if (budget.sockets >= this.options.maxSocketsPerUser) return turnAway(ws, `too many connections: at most ${this.options.maxSocketsPerUser} per user`, 30_000);
    budget.sockets++;
    const session = new Session(ws, appId, userId, this.messages, this.options, budget, (actor, id) => this.stopStreaming(actor, id), this.onError,
      (retryAfterMs) => this.penalize(key, retryAfterMs));
    this.sessions.add(session);
    this.hub.add(session);
    ws.on('message', (data, isBinary) => void session.receive(data as Buffer, isBinary));
    ws.on('pong', () => (session.alive = true));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      session.markClosed();
      this.sessions.delete(session);
      this.hub.remove(session);
      if (--budget.sockets === 0) this.budgets.delete(key);
    });
    session.send({ type: 'ready', user_id: userId, app_id: appId, heartbeat_ms: this.options.heartbeatMs, ts: Date.now() });
  }

  private penalize(key: string, retryAfterMs: number): void {
    this.penalties.set(key, Date.now() + retryAfterMs);
    if (this.penalties.size > 10_000) {
      const now = Date.now();
      for (const [k, until] of this.penalties) if (until <= now) this.penalties.delete(k);
    }
  }

  private beat(): void {
    for (const session of this.sessions) {
      if (!session.alive) {
        session.terminate();
        continue;
      }
      session.alive = false;
      session.ping();
    }
  }
}

/** Closes a socket before any session exists for it, saying why and when to come back. */
function turnAway(ws: WebSocket, reason: string, retryAfterMs: number): void {
  ws.send(JSON.stringify({ type: 'bye', code: CloseCode.policy, reason, retry_after_ms: Math.ceil(retryAfterMs) } satisfies ByeFrame));
  ws.close(CloseCode.policy, reason);
  setTimeout(() => ws.terminate(), 1_000).unref();
}

/** The token offered as a `warbler.token.<token>` subprotocol: how the SDK and browsers send it, out of the URL. */
function protocolTokenOf(req: IncomingMessage): string | undefined {
  const offered = req.headers['sec-websocket-protocol'];
  if (!offered) return undefined;
  for (const p of offered.split(',')) {
    const protocol = p.trim();
    if (protocol.startsWith(WsAuth.tokenPrefix)) return protocol.slice(WsAuth.tokenPrefix.length);
  }
  return undefined;
}

function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function reject(socket: Duplex, status: number, text: string, headers = ''): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}
