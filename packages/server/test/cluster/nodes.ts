// Several real `warbler serve` processes on one PostgreSQL and one Redis, as
// an operator runs a cluster, and a TCP balancer in front of them that sends
// each connection to the first node in its list still alive.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, postgresAdminUrl } from '../postgres.ts';
import { redisAvailable, startRedis, type TestRedis } from '../redis.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const mainTs = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** The cluster suites need both servers; without them (and outside CI) they skip. */
export function clusterAvailable(): boolean {
  return postgresAdminUrl() !== null && redisAvailable();
}

export interface WarblerNode {
  name: string;
  url: string;
  port: number;
  wsUrl: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  redis: TestRedis;
  env: Record<string, string>;
  nodes: WarblerNode[];
  /** The default app's secret. */
  secret: string;
  masterKey: string;
  /** A REST call with the app secret (or another credential) to a node. */
  api(node: WarblerNode, method: string, p: string, body?: unknown, credential?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/**
 * Starts `count` nodes one after another (the first creates the schema and the
 * default app), sharing a data dir as they would share a volume.
 */
export async function startCluster(count: number, env: Record<string, string> = {}): Promise<Cluster> {
  const redis = await startRedis();
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-cluster-'));
  const masterKey = 'cluster-test-master-key-0123456789';
  const fullEnv: Record<string, string> = {
    WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: masterKey, WARBLER_LOG_LEVEL: 'warn',
    WARBLER_DATABASE_URL: db.url, WARBLER_REDIS_URL: redis.url, WARBLER_SHUTDOWN_GRACE_MS: '2000',
    WARBLER_WS_SEND_RATE: '1000', WARBLER_WS_SEND_BURST: '1000',
    ...env,
  };
  const nodes: WarblerNode[] = [];
  const cleanup = async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await db.drop().catch(() => {});
    await redis.remove();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) nodes.push(await startNode(String.fromCharCode(65 + i), fullEnv));
  } catch (err) {
    await cleanup();
    throw err;
  }
  const secret = (await readFile(path.join(dataDir, 'default-app.secret'), 'utf8')).trim();
  return {
    redis, env: fullEnv, nodes, secret, masterKey,
    async api(node, method, p, body, credential = secret) {
      const res = await fetch(node.url + p, {
        method,
        headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    close: cleanup,
  };
}

/** `warbler serve` in its own process; resolves once it says where it listens. */
export async function startNode(name: string, env: Record<string, string>): Promise<WarblerNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /running at (\S+)/.exec(out);
      if (m && out.includes('API reference')) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`node ${name} exited (${code}) before it was ready:\n${out}\n${err}`)));
  });
  child.stdout!.resume();
  return {
    name, url, port: Number(new URL(url).port), wsUrl: `${url.replace('http', 'ws')}/ws`, process: child, exited, stderr: () => err,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * A load balancer for one client: each new connection goes to the first of
 * `ports` that accepts it, so when a node dies its clients land on the next.
 */
export class Balancer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly ports: number[]) {
    this.server = createServer((client) => this.forward(client, 0));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(client: Socket, index: number): void {
    const port = this.ports[index];
    if (port === undefined) return void client.destroy();
    client.pause();
    const upstream = connect(port, '127.0.0.1');
    upstream.once('connect', () => {
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.once('close', end).once('error', end);
      upstream.once('close', end).once('error', end);
    });
    upstream.once('error', () => {
      if (!this.sockets.has(upstream)) this.forward(client, index + 1);
    });
  }
}
