import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { mintPeerToken } from '../peers/token.ts';
import { freshDatabase, freshRedis } from './cluster.ts';
import { freePort, startServer, type ServerProcess } from './proc.ts';
import { log, mapLimit } from './util.ts';

// One adapter per system under test. The harness only sees: start a server,
// make `groups` groups of `groupSize` users, connect one user, send (k, t),
// and get told when (k, t) arrives. Every payload carries the message number
// k and its intended send time t (performance.now() of the generator).

export type SystemName = 'warbler' | 'warbler-plain' | 'socketio' | 'ws' | 'warbler-pg' | 'warbler-2nodes' | 'socketio-redis';
/** One node each, Warbler on SQLite: the single-node comparison. */
export const SINGLE_NODE_SYSTEMS: readonly SystemName[] = ['warbler', 'socketio', 'ws'];
/**
 * Several nodes (issue 14): Warbler with 2 nodes on PostgreSQL + Redis beside
 * Warbler with 1 node on PostgreSQL, and Socket.IO with 2 nodes on its Redis
 * adapter. Each group's members alternate between the nodes.
 */
export const MULTI_NODE_SYSTEMS: readonly SystemName[] = ['warbler-pg', 'warbler-2nodes', 'socketio-redis'];
export const ALL_SYSTEMS: readonly SystemName[] = [...SINGLE_NODE_SYSTEMS, ...MULTI_NODE_SYSTEMS];
/** Every system a bench may be asked for by name; warbler-plain is Warbler with encryption at rest off (WARBLER_ENCRYPTION=off), to measure its cost. */
export const KNOWN_SYSTEMS: readonly SystemName[] = [...ALL_SYSTEMS, 'warbler-plain'];

export interface RosterMember {
  userId: string;
  /** What the client presents: a Warbler user token, a peer token, or nothing. */
  credential: string;
  /** Which node (0-based) this member connects to; 0 for single-node systems. */
  node?: number;
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
  /** Server processes behind the one `start` returns (its cpuMs and rssKb are their sums). */
  nodes: number;
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

const WARBLER_SCRIPT = 'packages/server/src/main.ts';

function warblerEnv(port: number, dataDir: string, masterKey: string): Record<string, string> {
  return {
    WARBLER_PORT: String(port),
    WARBLER_HOST: '127.0.0.1',
    WARBLER_DATA_DIR: dataDir,
    WARBLER_MASTER_KEY: masterKey,
    // Every simulated client connects from 127.0.0.1: one address standing for a thousand users.
    WARBLER_WS_HANDSHAKE_RATE: '100000',
    WARBLER_WS_HANDSHAKE_BURST: '100000',
  };
}

function warbler(name: 'warbler' | 'warbler-plain' = 'warbler'): System & { masterKey: string } {
  const masterKey = randomBytes(24).toString('base64url');
  const script = WARBLER_SCRIPT;
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
      env: { ...warblerEnv(port, dir, masterKey), ...(name === 'warbler-plain' ? { WARBLER_ENCRYPTION: 'off' } : {}) },
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
    nodes: 1,
    script,
    masterKey,
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

function socketio(): System & { secret: string } {
  const secret = randomBytes(24).toString('base64url');
  return {
    secret,
    name: 'socketio',
    nodes: 1,
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
    nodes: 1,
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

// ---------------------------------------------------------------- several nodes

/** Several server processes as one for the harness: CPU and RSS are their sums; REST goes to the first. */
function asOne(name: string, nodes: ServerProcess[], cleanup: () => Promise<void>): ServerProcess {
  const first = nodes[0];
  if (!first) throw new Error(`${name}: no nodes`);
  return {
    name,
    pid: first.pid,
    port: first.port,
    url: first.url,
    rssKb: () => nodes.reduce((sum, n) => sum + n.rssKb(), 0),
    cpuMs: () => nodes.reduce((sum, n) => sum + n.cpuMs(), 0),
    gc: () => first.gc(),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await cleanup();
    },
  };
}

/** Starts `count` nodes one after another (the first creates the schema); on a failure stops those started. */
async function startNodes(
  name: string,
  count: number,
  start: (index: number) => Promise<ServerProcess>,
  cleanup: () => Promise<void>,
): Promise<{ one: ServerProcess; nodes: ServerProcess[] }> {
  const nodes: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await start(i));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await cleanup();
    throw err;
  }
  return { one: asOne(name, nodes, cleanup), nodes };
}

/** Members of each group alternate between the nodes, so each message reaches some members on another node. */
function spreadOverNodes(roster: Roster, count: number): Roster {
  return { groups: roster.groups.map((g) => ({ ...g, members: g.members.map((m, j) => ({ ...m, node: j % count })) })) };
}

/**
 * Warbler on PostgreSQL: `count` nodes sharing one fresh database, a data dir
 * (as they would share a volume) and, with more than one node, a Redis
 * (WARBLER_REDIS_URL), as packages/server/test/cluster runs them.
 */
function warblerOnPostgres(name: 'warbler-pg' | 'warbler-2nodes', count: number): System {
  const base = warbler();
  const nodesOf = new WeakMap<ServerProcess, ServerProcess[]>();
  return {
    name,
    nodes: count,
    script: WARBLER_SCRIPT,
    async start(cpu) {
      const dataDir = mkdtempSync(join(tmpdir(), 'warbler-bench-'));
      const databaseUrl = await freshDatabase();
      const redis = count > 1 ? await freshRedis() : undefined;
      const cleanup = async () => {
        await redis?.remove();
        rmSync(dataDir, { recursive: true, force: true });
      };
      const { one, nodes } = await startNodes(name, count, async (i) => {
        const port = await freePort();
        return startServer({
          name: count > 1 ? `${name}[${i}]` : name,
          script: WARBLER_SCRIPT,
          port,
          cpu,
          env: { ...warblerEnv(port, dataDir, base.masterKey), WARBLER_DATABASE_URL: databaseUrl, ...(redis ? { WARBLER_REDIS_URL: redis.url } : {}) },
        });
      }, cleanup);
      nodesOf.set(one, nodes);
      return one;
    },
    restart() {
      throw new Error(`${name}: restart is not supported`);
    },
    async setup(server, groups, groupSize) {
      return spreadOverNodes(await base.setup(server, groups, groupSize), count);
    },
    connect(server, group, member, handlers) {
      return base.connect(nodesOf.get(server)?.[member.node ?? 0] ?? server, group, member, handlers);
    },
  };
}

/** Socket.IO with @socket.io/redis-adapter: `count` peer nodes on one Redis. */
function socketioOnRedis(count: number): System {
  const base = socketio();
  const nodesOf = new WeakMap<ServerProcess, ServerProcess[]>();
  return {
    name: 'socketio-redis',
    nodes: count,
    script: base.script,
    async start(cpu) {
      const redis = await freshRedis();
      const { one, nodes } = await startNodes('socketio-redis', count, async (i) => {
        const port = await freePort();
        return startServer({
          name: `socketio-redis[${i}]`,
          script: base.script,
          port,
          cpu,
          env: { PEER_PORT: String(port), PEER_SECRET: base.secret, PEER_REDIS_URL: redis.url },
        });
      }, () => redis.remove());
      nodesOf.set(one, nodes);
      return one;
    },
    restart() {
      throw new Error('socketio-redis: restart is not supported');
    },
    async setup(server, groups, groupSize) {
      return spreadOverNodes(await base.setup(server, groups, groupSize), count);
    },
    connect(server, group, member, handlers) {
      return base.connect(nodesOf.get(server)?.[member.node ?? 0] ?? server, group, member, handlers);
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
    case 'warbler-pg':
      return warblerOnPostgres('warbler-pg', 1);
    case 'warbler-2nodes':
      return warblerOnPostgres('warbler-2nodes', 2);
    case 'socketio-redis':
      return socketioOnRedis(2);
  }
}
