import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerFrame } from '@warbler/protocol';
import WebSocket from 'ws';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createTestDatabase, postgresAdminUrl } from './postgres.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** Store kinds to run integration suites on: SQLite always, PostgreSQL when the test cluster is up. */
export function storeKinds(): StoreKind[] {
  return postgresAdminUrl() ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestServer {
  warbler: Warbler;
  url: string;
  wsUrl: string;
  masterKey: string;
  /** The default app's id and a fresh secret for it. */
  appId: string;
  appSecret: string;
  api: (method: string, path: string, body?: unknown, credential?: string) => Promise<{ status: number; body: any; headers: Headers }>;
  /** Creates a user in the app and returns it with a token. */
  user: (name: string, kind?: 'human' | 'agent') => Promise<{ id: string; token: string }>;
  stop: () => Promise<void>;
}

/** A real Warbler on a free loopback port, on a throwaway data dir (and database). */
export async function startServer(kind: StoreKind = 'sqlite', env: Record<string, string> = {}, options: Parameters<typeof buildWarbler>[1] = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-test-'));
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  const masterKey = 'test-master-key-0123456789';
  const config = loadConfig({
    WARBLER_PORT: '0',
    WARBLER_HOST: '127.0.0.1',
    WARBLER_DATA_DIR: dataDir,
    WARBLER_MASTER_KEY: masterKey,
    WARBLER_LOG_LEVEL: 'silent',
    ...(db ? { WARBLER_DATABASE_URL: db.url } : {}),
    ...env,
  });
  const warbler = await buildWarbler(config, options);
  const url = await warbler.listen();
  const appSecret = await warbler.apps.rotateSecret('default');

  const api: TestServer['api'] = async (method, p, body, credential = appSecret) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  let n = 0;
  return {
    warbler, url, wsUrl: url.replace('http', 'ws') + '/ws', masterKey, appId: 'default', appSecret, api,
    async user(name, userKind = 'human') {
      const created = await api('POST', '/api/users', { id: `${name.toLowerCase()}-${++n}`, name, kind: userKind });
      if (created.status !== 201) throw new Error(`user create failed: ${JSON.stringify(created.body)}`);
      const minted = await api('POST', `/api/users/${created.body.id}/tokens`, {});
      return { id: created.body.id, token: minted.body.token };
    },
    async stop() {
      await warbler.close();
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A raw protocol client over a real socket: records every frame, and lets a
 * test wait for the frame it expects (with a timeout that fails the test).
 */
export class TestSocket {
  readonly frames: ServerFrame[] = [];
  private waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closeCode: number | undefined;
  private n = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async open(wsUrl: string, token: string): Promise<TestSocket> {
    const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    // A refused token completes the handshake and closes with 4001 after an error frame.
    const refused = new Promise<never>((_, reject) =>
      ws.once('close', (code) => reject(new Error(`closed ${code} before ready: ${JSON.stringify(socket.frames.find((f) => f.type === 'error') ?? null)}`))),
    );
    refused.catch(() => {});
    await Promise.race([socket.next((f) => f.type === 'ready'), refused]);
    return socket;
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a request frame with a fresh id and waits for its reply (ack, result or error). */
  async request<T extends ServerFrame = ServerFrame>(frame: Record<string, unknown>): Promise<T> {
    const id = `r${++this.n}`;
    const reply = this.next((f) => 'id' in f && f.id === id && (f.type === 'ack' || f.type === 'result' || f.type === 'error'));
    this.send({ ...frame, id });
    return (await reply) as T;
  }

  /** Resolves with the first frame (already received or coming) that matches. */
  next(match: (f: ServerFrame) => boolean, timeoutMs = 5_000): Promise<ServerFrame> {
    const seen = this.frames.find(match);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a frame; got: ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  /** Waits until `count` frames of a type have arrived, and returns them. */
  async collect(type: ServerFrame['type'], count: number, timeoutMs = 10_000): Promise<ServerFrame[]> {
    const out: ServerFrame[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next((f) => f.type === type, timeoutMs));
    return out;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  /** Drops the TCP connection without a closing handshake, like a phone losing signal. */
  drop(): void {
    this.ws.terminate();
  }
}
