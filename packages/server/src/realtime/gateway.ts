import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type ByeFrame } from '@warbler/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Messages } from '../chat/index.ts';
import { WarblerError } from '../errors.ts';
import { isStoreUnavailable } from '../store/index.ts';
import type { Authenticator } from '../tenancy/index.ts';
import type { Hub } from './hub.ts';
import { Session, type SessionLimits, type StopStreaming } from './session.ts';

export interface RealtimeOptions extends SessionLimits {
  heartbeatMs: number;
  path?: string;
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
    clientTracking: false,
  });
  private readonly sessions = new Set<Session>();
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
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== (this.options.path ?? '/ws')) return void reject(socket, 404, 'Not Found');
      void this.upgrade(req, socket, head, url.searchParams.get('token') ?? bearerOf(req));
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

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, token: string | undefined): Promise<void> {
    if (!this.accepting) return reject(socket, 503, 'Service Unavailable');
    if (!token) return this.refuse(req, socket, head, new WarblerError('unauthorized', 'No token: connect to /ws?token=<user token>.'));
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
    const session = new Session(ws, appId, userId, this.messages, this.options, (actor, id) => this.stopStreaming(actor, id), this.onError);
    this.sessions.add(session);
    this.hub.add(session);
    ws.on('message', (data, isBinary) => void session.receive(data as Buffer, isBinary));
    ws.on('pong', () => (session.alive = true));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      session.markClosed();
      this.sessions.delete(session);
      this.hub.remove(session);
    });
    session.send({ type: 'ready', user_id: userId, app_id: appId, heartbeat_ms: this.options.heartbeatMs, ts: Date.now() });
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

function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function reject(socket: Duplex, status: number, text: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
