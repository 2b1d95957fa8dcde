import { spawn, type ChildProcess } from 'node:child_process';
import { cpuMs, repoRoot, rssKb } from './proc.ts';
import { log, sleep } from './util.ts';

// Children that have no /healthz (the upstream fixture, the Portkey gateway),
// so proc.ts's startServer cannot tell when they are ready. Same contract:
// the pid we hold is the process that serves (no npm/tsx wrapper in between),
// so its RSS and CPU time are its own.

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
  /** Path answered with a status below 500 once the child is ready. */
  readyPath: string;
  env?: Record<string, string>;
  cpu?: number;
  readyTimeoutMs?: number;
}

export async function startChild(opts: ChildOptions): Promise<Child> {
  const [cmd, args] =
    opts.cpu === undefined
      ? [process.execPath, opts.nodeArgs]
      : ['taskset', ['-c', String(opts.cpu), process.execPath, ...opts.nodeArgs]];
  const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  log(`${opts.name}: pid ${pid} ready on ${url}${opts.cpu === undefined ? '' : ` (pinned to cpu ${opts.cpu})`}`);
  return {
    name: opts.name,
    pid,
    url,
    rssKb: () => rssKb(pid),
    cpuMs: () => cpuMs(pid),
    tail,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    },
  };
}

/** Drains the child's output (a full pipe would stall it) and keeps the last lines. */
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
  return () => lines.join('\n');
}
