import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { freePort, repoRoot, startServer, type ServerProcess } from './proc.ts';

// Warbler as the benches that drive its AI side start it: `npm start`'s entry
// on a fresh SQLite data dir (deleted on stop) and a known master key.
// BENCH_WARBLER_ENTRY points at another checkout's main.ts, to compare a
// change against this tree with the same bench.

function entry(): string {
  const other = process.env.BENCH_WARBLER_ENTRY;
  return other ? relative(repoRoot, resolve(other)) : 'packages/server/src/main.ts';
}

export interface WarblerProcess extends ServerProcess {
  masterKey: string;
}

export async function startWarbler(opts: { env?: Record<string, string>; cpu?: number; nodeArgs?: string[] } = {}): Promise<WarblerProcess> {
  const masterKey = randomBytes(24).toString('base64url');
  const dataDir = mkdtempSync(join(tmpdir(), 'warbler-bench-'));
  const port = await freePort();
  let server: ServerProcess;
  try {
    server = await startServer({
      name: 'warbler',
      script: entry(),
      port,
      cpu: opts.cpu,
      ...(opts.nodeArgs && { nodeArgs: opts.nodeArgs }),
      env: {
        WARBLER_PORT: String(port),
        WARBLER_HOST: '127.0.0.1',
        WARBLER_DATA_DIR: dataDir,
        WARBLER_MASTER_KEY: masterKey,
        ...opts.env,
      },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const stop = server.stop;
  return {
    ...server,
    masterKey,
    async stop() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One REST call; throws with the body's start on any non-2xx. */
export async function api<T>(base: string, method: string, path: string, bearer: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
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
  if (!res.ok) throw new ApiError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** Accepts `{user: {...}}` and a bare `{...}` alike, so an envelope change does not break the bench. */
export function pickId(body: unknown, envelope: string): string {
  const b = body as Record<string, unknown>;
  const inner = (b[envelope] ?? b) as { id?: unknown };
  if (typeof inner.id !== 'string') throw new Error(`no ${envelope} id in ${JSON.stringify(body).slice(0, 300)}`);
  return inner.id;
}

/** A new app; its secret acts for the app in every later call. */
export async function createApp(server: WarblerProcess, name: string): Promise<{ appId: string; secret: string }> {
  const created = await api<{ app: { id: string }; secret: string }>(server.url, 'POST', '/admin/apps', server.masterKey, { name });
  return { appId: created.app.id, secret: created.secret };
}
