import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const t0 = Date.now();

/** Progress goes to stderr so stdout carries only the final JSON line. */
export function log(message: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
}

/** Node flags from a space-separated variable (e.g. "--single-threaded-gc --cpu-prof"); `fallback` when it is unset. */
export function envArgs(name: string, fallback = ''): string[] {
  return (process.env[name] ?? fallback).split(' ').filter(Boolean);
}

export function envList<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (!raw) return [...all];
  const picked = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`${name}: unknown system ${p} (known: ${all.join(', ')})`);
  return picked as T[];
}

/** Runs fn over items with at most `limit` in flight, keeping the result order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function softFdLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m?.[1]) return Infinity;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/**
 * Node cannot raise RLIMIT_NOFILE itself, so when the soft limit is too low we
 * re-run this same command under `ulimit -n` (servers we spawn inherit it).
 * Returns only when the limit is high enough.
 */
export function ensureFdLimit(needed: number): void {
  const soft = softFdLimit();
  if (soft >= needed) return;
  if (process.env.BENCH_FD_REEXEC === '1') {
    throw new Error(`open-file limit is ${soft}, need ${needed}: run \`ulimit -n ${needed}\` (raise the hard limit as root) and retry`);
  }
  log(`open-file limit ${soft} < ${needed}: re-running under ulimit -n ${needed}`);
  const r = spawnSync(
    'sh',
    ['-c', `ulimit -n ${needed} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, BENCH_FD_REEXEC: '1' } },
  );
  process.exit(r.status ?? 1);
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
