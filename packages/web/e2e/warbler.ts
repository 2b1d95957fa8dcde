import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MASTER_KEY = 'e2e-master-key-0123456789abcdef';

export interface RunningWarbler {
  url: string;
  port: number;
  dataDir: string;
  /** Stops the process (SIGTERM: it says bye to sockets, which then reconnect) and keeps the data dir. */
  stop(): Promise<void>;
  /** Stops it and removes the data dir. */
  dispose(): Promise<void>;
  /** Stops the process and starts a new one on the same port, data dir and environment (what an operator's restart does). */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Warbler as `npm start` runs it (main.ts, so the built web app is served
 * at /), on a throwaway data dir, with only the environment given here:
 * nothing from the developer's shell (no provider key) leaks in.
 */
export async function startWarbler(options: { env?: Record<string, string>; dataDir?: string; port?: number } = {}): Promise<RunningWarbler> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'warbler-e2e-')));
  const port = options.port ?? (await freePort());
  const env = options.env ?? {};
  let child = await spawnWarbler(dataDir, port, env);
  const running: RunningWarbler = {
    url: child.url, port, dataDir,
    stop: () => stopChild(child.process),
    async dispose() {
      await stopChild(child.process);
      await rm(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild(child.process);
      child = await spawnWarbler(dataDir, port, env);
    },
  };
  return running;
}

async function spawnWarbler(dataDir: string, port: number, env: Record<string, string>): Promise<{ process: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? tmpdir(),
      WARBLER_PORT: String(port),
      WARBLER_HOST: '127.0.0.1',
      WARBLER_DATA_DIR: dataDir,
      WARBLER_MASTER_KEY: MASTER_KEY,
      WARBLER_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: on a loaded CI machine a cold start (migrations, the docs knowledge base, tsx) has taken over a minute.
    const timer = setTimeout(() => reject(new Error(`Warbler did not start in 180 s:\n${output}`)), 180_000);
    const check = () => {
      const m = /Warbler is running at (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Warbler exited with ${code} before it was ready:\n${output}`));
    });
  });
  return { process: child, url };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A REST call as the operator in the default app. */
export async function adminApi<T = any>(url: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'x-warbler-app': 'default', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
