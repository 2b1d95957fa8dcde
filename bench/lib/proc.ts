import { createWriteStream } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envArgs, envNumber, log, sleep } from './util.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const gcHookUrl = pathToFileURL(fileURLToPath(new URL('./gc-hook.ts', import.meta.url))).href;

/** Linux reports CPU time in clock ticks; 100 Hz everywhere we run, but ask once. */
const clockTicks = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size of any process, read from /proc so the process needs no cooperation. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** User + system CPU time of a process in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** CPU time all cores spent busy since boot, in ms (from the first line of /proc/stat). */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
  const busy = ticks.slice(0, 8).reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
  return (busy * 1000) / clockTicks;
}

export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Other work on the machine (a test run, a build) takes the same two cores
 * the bench measures. Waits until everything but this process has used at
 * most BENCH_QUIET_PCT % of a core for 3 s in a row, at most
 * BENCH_QUIET_TIMEOUT_SECONDS (0 = don't wait); then measures anyway and the
 * figures carry the `other_pct` that skewed them.
 */
export async function waitForQuiet(): Promise<void> {
  const maxPct = envNumber('BENCH_QUIET_PCT', 15);
  const timeoutMs = envNumber('BENCH_QUIET_TIMEOUT_SECONDS', 120) * 1000;
  const deadline = Date.now() + timeoutMs;
  let quietSeconds = 0;
  let said = false;
  while (Date.now() < deadline) {
    const start = { at: performance.now(), machine: machineBusyMs(), own: ownCpuMs() };
    await sleep(1000);
    const other = machineBusyMs() - start.machine - (ownCpuMs() - start.own);
    const pct = (other / (performance.now() - start.at)) * 100;
    if (pct <= maxPct) {
      if (++quietSeconds >= 3) return;
      continue;
    }
    quietSeconds = 0;
    if (!said) log(`other processes use ${Math.round(pct)}% of a core: waiting up to ${timeoutMs / 1000} s for a quiet machine`);
    said = true;
  }
  if (timeoutMs > 0) log('machine still busy: measuring anyway (see other_pct)');
}

/** Pinning needs taskset and at least two cores; BENCH_PIN=0 turns it off. */
export function pinningEnabled(): boolean {
  if (process.env.BENCH_PIN === '0') return false;
  const cores = spawnSync('nproc', { encoding: 'utf8' });
  return Number(cores.stdout?.trim()) >= 2 && spawnSync('taskset', ['-V']).status === 0;
}

/** Pins every thread of this process (the load generator) to one core. */
export function pinSelf(cpu: number): void {
  spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export interface GcReport {
  collected: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  rssKb(): number;
  cpuMs(): number;
  /** Full GC in the server (through the preloaded gc hook), then its own memory report. */
  gc(): Promise<GcReport | null>;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Entry file, relative to the repo root. */
  script: string;
  port: number;
  env?: Record<string, string>;
  /** Core to pin the server to; undefined = let the OS schedule it. */
  cpu?: number;
  readyTimeoutMs?: number;
  /** Node flags before the bench's own (e.g. --single-threaded-gc). */
  nodeArgs?: string[];
}

/** A child process of the bench, serving HTTP on a loopback port. */
export interface Child {
  name: string;
  pid: number;
  /** http://127.0.0.1:port */
  url: string;
  rssKb(): number;
  cpuMs(): number;
  /** The last lines it printed, for error reports. */
  tail(): string;
  stop(): Promise<void>;
}

export interface ChildOptions {
  name: string;
  /** Arguments to `node`: flags, then the entry file and its own arguments. */
  nodeArgs: string[];
  port: number;
  /** Path polled until `ready` accepts its status. */
  readyPath: string;
  /** Default: any status below 500 (the server answers, even if it refuses the request). */
  ready?: (status: number) => boolean;
  env?: Record<string, string>;
  /** Core to pin the child to; undefined = let the OS schedule it. */
  cpu?: number;
  readyTimeoutMs?: number;
  /** Open an IPC channel (the gc hook listens on it). */
  ipc?: boolean;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 5 s. */
  stopGraceMs?: number;
}

/**
 * Spawns `node` directly (no npm or tsx CLI wrapper in between, so the pid
 * we hold is the process that serves and its RSS and CPU time are its own),
 * and waits until it answers on readyPath.
 */
export async function startChild(opts: ChildOptions): Promise<Child & { process: ChildProcess }> {
  const [cmd, args] =
    opts.cpu === undefined
      ? [process.execPath, opts.nodeArgs]
      : ['taskset', ['-c', String(opts.cpu), process.execPath, ...opts.nodeArgs]];
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const tail = outputTail(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: spawn failed`);
  let exited: { code: number | null; signal: string | null } | null = null;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const ready = opts.ready ?? ((status: number) => status < 500);
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited before it was ready (${JSON.stringify(exited)}):\n${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} did not answer ${url}${opts.readyPath} in time:\n${tail()}`);
    }
    try {
      const res = await fetch(`${url}${opts.readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (ready(res.status)) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  log(`${opts.name}: pid ${pid} ready on ${url}${opts.cpu === undefined ? '' : ` (pinned to cpu ${opts.cpu})`}`);
  const graceMs = opts.stopGraceMs ?? 5_000;
  return {
    name: opts.name,
    pid,
    url,
    process: child,
    rssKb: () => rssKb(pid),
    cpuMs: () => cpuMs(pid),
    tail,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exitPromise.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        log(`${opts.name}: no exit ${graceMs / 1000} s after SIGTERM, killing`);
        child.kill('SIGKILL');
        await exitPromise;
      }
    },
  };
}

/**
 * Starts a TypeScript server as `node --import tsx` (not the tsx CLI, which
 * would put a wrapper process between us and the server and make its pid's
 * RSS meaningless), waits for GET /healthz to answer 200.
 */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const scriptPath = `${repoRoot}${opts.script}`;
  if (!existsSync(scriptPath)) throw new Error(`${opts.script} does not exist`);
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the servers under load.
  const extra = envArgs('BENCH_SERVER_NODE_ARGS');
  const child = await startChild({
    name: opts.name,
    nodeArgs: [...(opts.nodeArgs ?? []), ...extra, '--expose-gc', '--import', 'tsx', '--import', gcHookUrl, scriptPath],
    port: opts.port,
    readyPath: '/healthz',
    ready: (status) => status === 200,
    ...(opts.env && { env: opts.env }),
    ...(opts.cpu !== undefined && { cpu: opts.cpu }),
    ...(opts.readyTimeoutMs !== undefined && { readyTimeoutMs: opts.readyTimeoutMs }),
    ipc: true,
    stopGraceMs: 10_000,
  });
  return {
    name: child.name,
    pid: child.pid,
    port: opts.port,
    url: child.url,
    rssKb: child.rssKb,
    cpuMs: child.cpuMs,
    gc: () => requestGc(child.process),
    stop: child.stop,
  };
}

function requestGc(child: ChildProcess): Promise<GcReport | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, 15_000);
    const onMessage = (m: unknown) => {
      if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'bench:gc:done') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as GcReport);
    };
    child.on('message', onMessage);
    child.send('bench:gc');
  });
}

/** Drains the child's output (a full pipe would stall it) and keeps the last lines for error reports. */
function outputTail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // BENCH_SERVER_OUTPUT=<file> keeps everything the children print (with --trace-gc, say) for a look afterwards.
  const file = process.env.BENCH_SERVER_OUTPUT;
  if (file) {
    const out = createWriteStream(file, { flags: 'a' });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
  }
  return () => lines.join('\n');
}
