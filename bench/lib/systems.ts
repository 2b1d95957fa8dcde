import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { mintPeerToken } from '../peers/token.ts';
import { freePort, startServer, type ServerProcess } from './proc.ts';
import { log, mapLimit } from './util.ts';

// One adapter per system under test. The harness only sees: start a server,
// make `groups` groups of `groupSize` users, connect one user, send (k, t),
// and get told when (k, t) arrives. Every payload carries the message number
// k and its intended send time t (performance.now() of the generator).

export type SystemName = 'warbler' | 'warbler-plain' | 'socketio' | 'ws';
export const ALL_SYSTEMS: readonly SystemName[] = ['warbler', 'socketio', 'ws'];
/** Every system a bench may be asked for by name; warbler-plain is Warbler with encryption at rest off (WARBLER_ENCRYPTION=off), to measure its cost. */
export const KNOWN_SYSTEMS: readonly SystemName[] = [...ALL_SYSTEMS, 'warbler-plain'];

export interface RosterMember {
  userId: string;
  /** What the client presents: a Warbler user token, a peer token, or nothing. */
  credential: string;
}
export interface RosterGroup {
  /** Warbler conversation id, Socket.IO room or ws group name. */
  key: string;
  members: RosterMember[];
}
export interface Roster {
  groups: RosterGroup[];
}

export interface Handlers {
  /** Message k (sent at t) reached this client; for Warbler the sender's copy is its ack. */
  onDelivery(k: number, t: number): void;
  /** The server refused message k (k = -1 when the error names no request). */
  onError(k: number, code: string): void;
  onClose(code: number, reason: string): void;
}

export interface Conn {
  send(k: number, t: number): void;
  close(): void;
}

export interface System {
  name: SystemName;
  /** Where the server's entry file lives, relative to the repo root. */
  script: string;
  start(cpu?: number): Promise<ServerProcess>;
  /** Stops the server and starts it again on the same data (users, tokens and groups survive). */
  restart(server: ServerProcess, cpu?: number): Promise<ServerProcess>;
  setup(server: ServerProcess, groups: number, groupSize: number): Promise<Roster>;
  connect(server: ServerProcess, group: RosterGroup, member: RosterMember, handlers: Handlers): Promise<Conn>;
}

const CONNECT_TIMEOUT_MS = 20_000;
const noop = () => {};

/** Builds rosters whose users and rooms are just names (the two peers keep no user table). */
function namedRoster(groups: number, groupSize: number, credential: (userId: string, room: string) => string): Roster {
  return {
    groups: Array.from({ length: groups }, (_, g) => {
      const key = `g${g}`;
      return {
        key,
        members: Array.from({ length: groupSize }, (_, j) => {
          const userId = `u${g * groupSize + j}`;
          return { userId, credential: credential(userId, key) };
        }),
      };
    }),
  };
}

function withTimeout<T>(what: string, p: Promise<T>, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what}: no answer in ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- Warbler

interface WarblerMessage {
  sender_id: string;
  content: { text?: unknown };
}
type WarblerFrame =
  | { type: 'ready'; user_id: string }
  | { type: 'ack'; id: string; message: WarblerMessage }
  | { type: 'message'; message: WarblerMessage }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'bye'; code: number; reason: string }
  | { type: string };

function parseBenchText(text: unknown, handlers: Handlers): void {
  if (typeof text !== 'string') return;
  const space = text.indexOf(' ');
  const k = Number(text.slice(0, space));
  const t = Number(text.slice(space + 1));
  if (space > 0 && Number.isFinite(k) && Number.isFinite(t)) handlers.onDelivery(k, t);
}

async function api<T>(base: string, method: string, path: string, bearer: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** Accepts both `{user: {...}}` and a bare `{...}` so the bench does not break on envelope changes. */
function pickId(body: unknown, envelope: string): string {
  const b = body as Record<string, { id?: unknown } | unknown>;
  const inner = (b[envelope] ?? b) as { id?: unknown };
  if (typeof inner.id !== 'string') throw new Error(`no ${envelope} id in ${JSON.stringify(body).slice(0, 300)}`);
  return inner.id;
}

function warbler(name: 'warbler' | 'warbler-plain' = 'warbler'): System {
  const masterKey = randomBytes(24).toString('base64url');
  const script = 'packages/server/src/main.ts';
  let dataDir: string | undefined;
  const stopKeepingData = new WeakMap<ServerProcess, () => Promise<void>>();
  const launch = async (cpu: number | undefined) => {
    dataDir ??= mkdtempSync(join(tmpdir(), 'warbler-bench-'));
    const dir = dataDir;
    const port = await freePort();
    const server = await startServer({
      name,
      script,
      port,
      cpu,
      env: {
        WARBLER_PORT: String(port),
        WARBLER_HOST: '127.0.0.1',
        WARBLER_DATA_DIR: dir,
        WARBLER_MASTER_KEY: masterKey,
        // Every simulated client connects from 127.0.0.1: one address standing for a thousand users.
        WARBLER_WS_HANDSHAKE_RATE: '100000',
        WARBLER_WS_HANDSHAKE_BURST: '100000',
        ...(name === 'warbler-plain' ? { WARBLER_ENCRYPTION: 'off' } : {}),
      },
    });
    const stop = server.stop;
    stopKeepingData.set(server, stop);
    server.stop = async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      dataDir = undefined;
    };
    return server;
  };
  return {
    name,
    script,
    start: launch,
    async restart(server, cpu) {
      await (stopKeepingData.get(server) ?? server.stop)();
      return launch(cpu);
    },
    async setup(server, groups, groupSize) {
      const base = server.url;
      const created = await api<{ app: { id: string }; secret: string }>(base, 'POST', '/admin/apps', masterKey, {
        name: `bench-${Date.now()}`,
      });
      const secret = created.secret;
      const total = groups * groupSize;
      const started = Date.now();
      // Bounded concurrency: fast setup without turning setup into a load test of its own.
      const userIds = await mapLimit(Array.from({ length: total }, (_, i) => i), 16, async (i) =>
        pickId(await api(base, 'POST', '/api/users', secret, { id: `bench_u${i}`, name: `Bench user ${i}` }), 'user'),
      );
      const tokens = await mapLimit(userIds, 16, async (id) => {
        const r = await api<{ token: string }>(base, 'POST', `/api/users/${encodeURIComponent(id)}/tokens`, secret, {
          ttl_seconds: 7200,
        });
        return r.token;
      });
      const roster: Roster = {
        groups: await mapLimit(Array.from({ length: groups }, (_, g) => g), 16, async (g) => {
          const ids = userIds.slice(g * groupSize, (g + 1) * groupSize);
          const conv = await api(base, 'POST', '/api/conversations', secret, {
            kind: 'group',
            title: `bench group ${g}`,
            member_ids: ids,
            created_by: ids[0],
          });
          return {
            key: pickId(conv, 'conversation'),
            members: ids.map((userId, j) => ({ userId, credential: tokens[g * groupSize + j] as string })),
          };
        }),
      };
      log(`warbler: setup of ${total} users, ${total} tokens, ${groups} groups took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return roster;
    },
    connect(server, group, member, handlers) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${encodeURIComponent(member.credential)}`, {
        perMessageDeflate: false,
      });
      const conversation = JSON.stringify(group.key);
      const me = member.userId;
      const opened = new Promise<Conn>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => reject(new Error(`warbler /ws answered ${res.statusCode}`)));
        ws.once('error', reject);
        ws.on('close', (code, reason) => {
          reject(new Error(`warbler closed ${code} before ready`));
          handlers.onClose(code, reason.toString());
        });
        ws.on('message', (data) => {
          const f = JSON.parse(data.toString()) as WarblerFrame;
          switch (f.type) {
            case 'ack':
              parseBenchText((f as { message: WarblerMessage }).message.content.text, handlers);
              break;
            case 'message': {
              // The sender's copy is its ack; a push of its own message would be a second copy.
              const m = (f as { message: WarblerMessage }).message;
              if (m.sender_id !== me) parseBenchText(m.content.text, handlers);
              break;
            }
            case 'error': {
              const e = f as { id?: string; code: string };
              handlers.onError(e.id === undefined ? -1 : Number(e.id), e.code);
              break;
            }
            case 'ready':
              ws.off('error', reject);
              ws.on('error', noop);
              resolve({
                send(k, t) {
                  ws.send(
                    `{"type":"send","id":"${k}","conversation_id":${conversation},"client_msg_id":"b${k}","content":{"text":"${k} ${t}"}}`,
                  );
                },
                close: () => ws.terminate(),
              });
              break;
          }
        });
      });
      return withTimeout('warbler connect', opened, () => ws.terminate());
    },
  };
}

// ---------------------------------------------------------------- Socket.IO peer

function socketio(): System {
  const secret = randomBytes(24).toString('base64url');
  return {
    name: 'socketio',
    script: 'bench/peers/socketio-server.ts',
    async start(cpu) {
      const port = await freePort();
      return startServer({ name: 'socketio', script: this.script, port, cpu, env: { PEER_PORT: String(port), PEER_SECRET: secret } });
    },
    async restart(server, cpu) {
      await server.stop();
      return this.start(cpu);
    },
    async setup(_server, groups, groupSize) {
      return namedRoster(groups, groupSize, (userId, room) => mintPeerToken(secret, userId, room));
    },
    connect(server, _group, member, handlers) {
      const socket = io(`http://127.0.0.1:${server.port}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: { token: member.credential },
      });
      socket.on('msg', (p: { k: number; t: number }) => handlers.onDelivery(p.k, p.t));
      const opened = new Promise<Conn>((resolve, reject) => {
        socket.once('connect_error', reject);
        socket.once('connect', () => {
          socket.off('connect_error', reject);
          socket.on('disconnect', (reason) => handlers.onClose(0, reason));
          resolve({
            send: (k, t) => void socket.emit('msg', { k, t }),
            close: () => void socket.disconnect(),
          });
        });
      });
      return withTimeout('socket.io connect', opened, () => socket.disconnect());
    },
  };
}

// ---------------------------------------------------------------- bare ws peer

function wsPeer(): System {
  return {
    name: 'ws',
    script: 'bench/peers/ws-server.ts',
    async start(cpu) {
      const port = await freePort();
      return startServer({ name: 'ws', script: this.script, port, cpu, env: { PEER_PORT: String(port) } });
    },
    async restart(server, cpu) {
      await server.stop();
      return this.start(cpu);
    },
    async setup(_server, groups, groupSize) {
      return namedRoster(groups, groupSize, () => '');
    },
    connect(server, group, _member, handlers) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?group=${encodeURIComponent(group.key)}`, {
        perMessageDeflate: false,
      });
      ws.on('message', (data) => {
        const p = JSON.parse(data.toString()) as { k: number; t: number };
        handlers.onDelivery(p.k, p.t);
      });
      const opened = new Promise<Conn>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => {
          ws.off('error', reject);
          ws.on('error', noop);
          ws.on('close', (code, reason) => handlers.onClose(code, reason.toString()));
          resolve({ send: (k, t) => ws.send(`{"k":${k},"t":${t}}`), close: () => ws.terminate() });
        });
      });
      return withTimeout('ws connect', opened, () => ws.terminate());
    },
  };
}

export function makeSystem(name: SystemName): System {
  switch (name) {
    case 'warbler':
      return warbler();
    case 'warbler-plain':
      return warbler('warbler-plain');
    case 'socketio':
      return socketio();
    case 'ws':
      return wsPeer();
  }
}
