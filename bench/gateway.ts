// OpenAI-compatible gateway: non-streaming chat completions against the
// upstream fixture, through
//   direct   — the fixture itself (the floor: fixture + bench + loopback),
//   bare     — bench/peers/bare-proxy.ts: node:http in, an undici Pool out,
//              no auth, no ledger (the floor of a Node proxy),
//   warbler  — Warbler's /v1 with a virtual key that has a budget and RPM/TPM
//              limits, so auth, limits, the budget check and the ledger all run;
//              for each scenario of GATEWAY_SCENARIOS (chat: POST
//              /v1/chat/completions; responses: POST /v1/responses, which
//              Warbler translates to the same chat completion for the fixture)
//              and each of GATEWAY_GUARDRAILS (off: a key whose policy is `off`;
//              on: a key whose policy has a 1,000-word list and masks mobile
//              numbers and emails, with the prompt carrying one of each),
//   portkey  — the Portkey open-source gateway (@portkey-ai/gateway), pointed
//              at the same fixture with x-portkey-provider + x-portkey-custom-host.
// Each in turn, in the same run, on the same fixture:
//   1. open loop: GATEWAY_RATE (1,000) requests/s for GATEWAY_SECONDS after a
//      warm-up; request n is due at start + n/rate and its latency runs from
//      that intended time, so a stall is not hidden by the generator waiting
//      for it (no coordinated omission);
//   2. closed loop: GATEWAY_CONCURRENCY requests always in flight, for the
//      maximum rate;
// then a soak of Warbler at GATEWAY_SOAK_RATE (default: the same rate) for
// GATEWAY_SOAK_SECONDS (300; 0 skips it), reading its RSS at the start and
// the end.
//
// The machine has 2 cores for the bench, the fixture and the gateway. By
// default (BENCH_PIN, as in the other benches) the gateway under test is
// pinned to cpu 0, the bench and the fixture to cpu 1: each gateway gets one
// core of its own, and `direct` shows what bench + fixture manage on theirs.
//
// Progress goes to stderr; the last stdout line is one JSON object.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { benchWords } from './lib/bench-words.ts';
import { startFixture, type FixtureProcess } from './lib/fixture.ts';
import { freePort, machineBusyMs, ownCpuMs, pinningEnabled, pinSelf, repoRoot, startChild, waitForQuiet } from './lib/proc.ts';
import { Latency } from './lib/stats.ts';
import { envArgs, envList, envNumber, log, round, sleep } from './lib/util.ts';
import { api, createApp, startWarbler, type WarblerProcess } from './lib/warbler.ts';

const RATE = envNumber('GATEWAY_RATE', 1000);
// 10 s: in a code path's first seconds V8's compiler threads take the gateway's one core for 40–850 ms at a time
// (docs/benchmarks.md, issue 17 fifth pass); a shorter warm-up measured them instead of the steady state.
const WARMUP_SECONDS = envNumber('GATEWAY_WARMUP_SECONDS', 10);
const OPEN_SECONDS = envNumber('GATEWAY_SECONDS', 20);
const CLOSED_SECONDS = envNumber('GATEWAY_CLOSED_SECONDS', 10);
const CONCURRENCY = Math.max(1, envNumber('GATEWAY_CONCURRENCY', 32));
const SOAK_SECONDS = envNumber('GATEWAY_SOAK_SECONDS', 300);
/** The soak's rate; a rate the gateway can sustain tells a leak from a backlog. */
const SOAK_RATE = envNumber('GATEWAY_SOAK_RATE', RATE);
/** Requests sent and not yet answered, at most; past it the open loop counts a `backlog` error instead of sending. */
const MAX_OUTSTANDING = Math.max(1, envNumber('GATEWAY_MAX_OUTSTANDING', 2000));
const SYSTEMS = envList('GATEWAY_SYSTEMS', ['direct', 'bare', 'warbler', 'portkey'] as const);
const SCENARIOS = envList('GATEWAY_SCENARIOS', ['chat', 'responses'] as const);
const GUARDRAILS = envList('GATEWAY_GUARDRAILS', ['off', 'on'] as const);
/**
 * Node flags for every Node gateway of the run (bare, Warbler, Portkey).
 * Each is pinned to one core, and V8's concurrent GC threads then share that
 * core with the main thread: during a major GC's concurrent marking the main
 * thread got ~30 % of it for 100–300 ms (per-thread CPU from /proc), which
 * was the 100–430 ms p99 seen at random in Warbler's scenarios. A one-core
 * host is run with --single-threaded-gc (docs/guide), and so is each gateway
 * here; GATEWAY_NODE_ARGS= (empty) runs V8's defaults.
 */
const GATEWAY_NODE_ARGS = envArgs('GATEWAY_NODE_ARGS', '--single-threaded-gc');

type SystemName = (typeof SYSTEMS)[number];
type Scenario = (typeof SCENARIOS)[number];
type Guard = (typeof GUARDRAILS)[number];
/** A measured target: a system, or warbler_<scenario>_guardrails_<off|on>. */
type TargetName = string;

const FIXTURE_KEY = 'sk-bench-fixture';
/** Closed-loop rate is taken after this much of the phase, once every connection is busy. */
const CLOSED_SETTLE_MS = Math.min(1000, (CLOSED_SECONDS * 1000) / 4);

// The same bodies for every system: a short chat, as an app would send it. The
// system prompt repeats, as an app's does; the user's question differs every
// time (a numbered suffix), so no cache of token counts or answers can serve
// the whole run from memory.
// The question carries a mobile number and an email, as support prompts do, so
// that with guardrails on every call masks two values (and restores them in
// the reply), besides matching against the word list.
let bodies = 0;
const SYSTEM_PROMPT = 'You are a concise assistant for a chat app.';
const question = () =>
  `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${++bodies})`;
const chatBody = (): string =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: question() },
    ],
    max_tokens: 64,
    temperature: 0.2,
  });
/** The same call in the Responses API: Warbler sends the fixture the chat completion above. */
const responsesBody = (): string =>
  JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM_PROMPT, input: question(), max_output_tokens: 64, temperature: 0.2 });

const SCENARIO_PATH: Record<Scenario, { path: string; body: () => string; answered: string }> = {
  chat: { path: '/v1/chat/completions', body: chatBody, answered: '"choices"' },
  responses: { path: '/v1/responses', body: responsesBody, answered: '"output"' },
};

interface Target {
  name: TargetName;
  origin: string;
  path: string;
  body: () => string;
  /** What a real answer contains (a 200 without it is a gateway answering something else). */
  answered: string;
  headers: Record<string, string>;
  /** The gateway's process, for RSS and CPU; none for direct. */
  process?: { pid: number; rssKb(): number; cpuMs(): number };
}

class Stats {
  latency = new Latency();
  /** x-warbler-overhead-ms: the time Warbler says it spent, upstream excluded. */
  overhead = new Latency();
  ok = 0;
  errors: Record<string, number> = {};
  private logged = 0;

  error(code: string, detail?: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (detail && this.logged++ < 3) log(`  error ${code}: ${detail.slice(0, 300)}`);
  }
}

async function request(pool: Pool, t: Target, stats: Stats, from: number): Promise<void> {
  try {
    const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body() });
    const text = await res.body.text();
    const done = performance.now();
    // A 200 without choices (or output) would be a gateway answering something else; it must not count as a completion.
    if (res.statusCode !== 200 || !text.includes(t.answered)) return stats.error(String(res.statusCode), text);
    stats.ok++;
    stats.latency.recordMs(done - from);
    const overhead = res.headers['x-warbler-overhead-ms'];
    if (typeof overhead === 'string') stats.overhead.recordMs(Number(overhead));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    stats.error(e.code ?? 'request_error', e.message);
  }
}

/** Request n is due at start + n/rate; its latency counts from then, whatever the generator or server was doing. */
function openLoop(pool: Pool, t: Target, rate: number, seconds: number, stats: Stats, onSecond?: (s: number) => void): Promise<void> {
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const start = performance.now() + 5;
  let n = 0;
  let inflight = 0;
  let lastSecond = 0;
  return new Promise((resolve) => {
    const finish = () => {
      if (n >= total && inflight === 0) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (n < total) {
        const due = start + n * interval;
        if (due > now) break;
        // A server that cannot keep up would otherwise grow an unbounded queue here and stretch the phase without end.
        if (inflight >= MAX_OUTSTANDING) {
          stats.error('backlog');
          n++;
          continue;
        }
        inflight++;
        void request(pool, t, stats, due).finally(() => {
          inflight--;
          finish();
        });
        n++;
      }
      const second = Math.floor((now - start) / 1000);
      if (onSecond && second > lastSecond) {
        lastSecond = second;
        onSecond(second);
      }
      if (n < total) setTimeout(tick, 1);
      else finish();
    };
    setTimeout(tick, 5);
  });
}

/** CONCURRENCY workers, each sending its next request as soon as the last one answered. */
async function closedLoop(pool: Pool, t: Target, seconds: number, stats: Stats): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let settled: { at: number; ok: number } | undefined;
  const settleTimer = setTimeout(() => (settled = { at: performance.now(), ok: stats.ok }), CLOSED_SETTLE_MS);
  const worker = async () => {
    while (performance.now() < end) await request(pool, t, stats, performance.now());
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearTimeout(settleTimer);
  const from = settled ?? { at: end - seconds * 1000, ok: 0 };
  return ((stats.ok - from.ok) * 1000) / (performance.now() - from.at);
}

interface CpuPct {
  gateway_pct: number;
  fixture_pct: number;
  bench_pct: number;
  other_pct: number;
}

/** CPU per process over a window, in % of one core (200 % = the whole machine). */
function cpuWindow(t: Target, fixture: FixtureProcess): () => CpuPct {
  const at = performance.now();
  const g0 = t.process?.cpuMs() ?? 0;
  const f0 = fixture.cpuMs();
  const own0 = ownCpuMs();
  const m0 = machineBusyMs();
  return () => {
    const wall = performance.now() - at;
    const pct = (x: number) => round((x / wall) * 100, 0);
    const g = (t.process?.cpuMs() ?? 0) - g0;
    const f = fixture.cpuMs() - f0;
    const own = ownCpuMs() - own0;
    return { gateway_pct: pct(g), fixture_pct: pct(f), bench_pct: pct(own), other_pct: Math.max(0, pct(machineBusyMs() - m0 - g - f - own)) };
  };
}

/** Peak RSS of the gateway while it is measured. */
function rssPeak(t: Target): () => number | null {
  if (!t.process) return () => null;
  const proc = t.process;
  let peak = proc.rssKb();
  const timer = setInterval(() => (peak = Math.max(peak, proc.rssKb())), 250);
  return () => {
    clearInterval(timer);
    return round(Math.max(peak, proc.rssKb()) / 1024, 1);
  };
}

const pct = (s: Stats, p: number) => s.latency.percentileMs(p);

interface SystemResult {
  p50_ms: number | null;
  p99_ms: number | null;
  max_rps: number;
  overhead_p99_ms?: number | null;
  overhead_p50_ms?: number | null;
  rss_mb?: number | null;
  p999_ms: number | null;
  open_ok: number;
  open_errors: Record<string, number>;
  closed_p50_ms: number | null;
  closed_p99_ms: number | null;
  closed_errors: Record<string, number>;
  cpu_pct: { open: CpuPct; closed: CpuPct };
  /** The gateway's CPU per answered request in the closed loop (ms): unlike rates, barely moved by other load on the machine. */
  cpu_ms_per_req: number | null;
}

async function measure(t: Target, fixture: FixtureProcess): Promise<SystemResult> {
  const pool = new Pool(t.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const stopRss = rssPeak(t);
    const warm = new Stats();
    log(`${t.name}: warm-up ${WARMUP_SECONDS} s at ${RATE} req/s`);
    await openLoop(pool, t, RATE, WARMUP_SECONDS, warm);
    if (warm.ok === 0) throw new Error(`${t.name}: no request succeeded during warm-up (${JSON.stringify(warm.errors)})`);
    await sleep(500);

    const open = new Stats();
    const openCpu = cpuWindow(t, fixture);
    await openLoop(pool, t, RATE, OPEN_SECONDS, open);
    const openCpuPct = openCpu();
    log(
      `${t.name}: open loop ${RATE} req/s × ${OPEN_SECONDS} s: ${open.ok} ok, errors ${JSON.stringify(open.errors)}, ` +
        `p50 ${pct(open, 50)} ms, p99 ${pct(open, 99)} ms, p99.9 ${pct(open, 99.9)} ms` +
        (open.overhead.count ? `, overhead p50 ${open.overhead.percentileMs(50)} ms p99 ${open.overhead.percentileMs(99)} ms` : '') +
        `; ${cpuText(openCpuPct)}`,
    );
    await sleep(1000);

    const closed = new Stats();
    const closedCpu = cpuWindow(t, fixture);
    const maxRps = await closedLoop(pool, t, CLOSED_SECONDS, closed);
    const closedCpuPct = closedCpu();
    const rss = stopRss();
    log(
      `${t.name}: closed loop, ${CONCURRENCY} in flight × ${CLOSED_SECONDS} s: ${Math.round(maxRps)} req/s, errors ${JSON.stringify(closed.errors)}, ` +
        `p50 ${pct(closed, 50)} ms, p99 ${pct(closed, 99)} ms; ${cpuText(closedCpuPct)}${rss === null ? '' : `; peak rss ${rss} MB`}`,
    );
    return {
      p50_ms: pct(open, 50),
      p99_ms: pct(open, 99),
      max_rps: Math.round(maxRps),
      ...(t.name.startsWith('warbler') ? { overhead_p99_ms: open.overhead.percentileMs(99), overhead_p50_ms: open.overhead.percentileMs(50) } : {}),
      ...(rss === null ? {} : { rss_mb: rss }),
      p999_ms: pct(open, 99.9),
      open_ok: open.ok,
      open_errors: open.errors,
      closed_p50_ms: pct(closed, 50),
      closed_p99_ms: pct(closed, 99),
      closed_errors: closed.errors,
      cpu_pct: { open: openCpuPct, closed: closedCpuPct },
      cpu_ms_per_req: t.process && maxRps > 0 ? round((closedCpuPct.gateway_pct * 10) / maxRps, 3) : null,
    };
  } finally {
    await pool.close();
  }
}

function cpuText(c: CpuPct): string {
  const warn = c.other_pct > 10 ? ` — WARNING: other processes used ${c.other_pct}% of a core, figures are skewed` : '';
  return `cpu % of one core: gateway ${c.gateway_pct}, fixture ${c.fixture_pct}, bench ${c.bench_pct}, other ${c.other_pct}${warn}`;
}

// ---------------------------------------------------------------- systems


/** warbler.yaml for the bench: a policy "bench" (a 1,000-word mask list, mobile numbers and emails masked and restored); "off" is built in. */
function guardrailsConfig(dir: string): string {
  const file = join(dir, 'warbler.yaml');
  // JSON is YAML.
  writeFileSync(file, JSON.stringify({
    guardrails: {
      lists: { bench: { action: 'mask', words: benchWords() } },
      pii: false,
      policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restore_in_reply: true } } },
    },
  }));
  return file;
}

interface WarblerKeys {
  server: WarblerProcess;
  /** Guardrails off / on → the key's bearer secret. */
  secrets: Record<Guard, string>;
}

async function startWarblerWithKeys(fixture: FixtureProcess, cpu: number | undefined): Promise<WarblerKeys> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
  const server = await startWarbler({ cpu, nodeArgs: GATEWAY_NODE_ARGS, env: {
      OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_CONFIG: guardrailsConfig(dir),
      // The per-key cap on calls running at once (16 by default) would refuse the closed loop's 32 and the open loop's bursts.
      WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '100000',
    },
  });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { secret } = await createApp(server, `gateway-bench-${Date.now()}`);
    const key = async (guard: Guard) =>
      // Limits far above what the bench sends, so they are checked on every request and never refuse one.
      (await api<{ key: { id: string }; secret: string }>(server.url, 'POST', '/api/gateway/keys', secret, {
        name: `gateway bench, guardrails ${guard}`,
        allowed_models: ['gpt-4o-mini'],
        monthly_budget_usd: 1_000_000,
        rpm: 10_000_000,
        tpm: 10_000_000_000,
        metadata: { team: 'bench', guardrails: guard === 'on' ? 'bench' : 'off' },
      })).secret;
    return { server, secrets: { off: await key('off'), on: await key('on') } };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

function warblerTarget(w: WarblerKeys, scenario: Scenario, guard: Guard): Target {
  return {
    name: `warbler_${scenario}_guardrails_${guard}`,
    origin: w.server.url,
    ...SCENARIO_PATH[scenario],
    headers: { authorization: `Bearer ${w.secrets[guard]}`, 'content-type': 'application/json' },
    process: w.server,
  };
}

async function bareTarget(fixture: FixtureProcess, cpu: number | undefined) {
  const port = await freePort();
  const child = await startChild({
    name: 'bare',
    nodeArgs: [...GATEWAY_NODE_ARGS, '--import', 'tsx', 'bench/peers/bare-proxy.ts'],
    port,
    readyPath: '/healthz',
    cpu,
    env: { PEER_PORT: String(port), PEER_UPSTREAM: fixture.url },
  });
  const target: Target = {
    name: 'bare', origin: child.url, ...SCENARIO_PATH.chat,
    headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' }, process: child,
  };
  return { target, child };
}

async function portkeyTarget(fixture: FixtureProcess, cpu: number | undefined) {
  const port = await freePort();
  // --headless: no web console, and no log stream kept for it; the proxy path is the same.
  const child = await startChild({
    name: 'portkey',
    nodeArgs: [...GATEWAY_NODE_ARGS, `${repoRoot}node_modules/@portkey-ai/gateway/build/start-server.js`, `--port=${port}`, '--headless'],
    port,
    readyPath: '/',
    cpu,
    env: { NODE_ENV: 'production' },
  });
  const target: Target = {
    name: 'portkey',
    origin: child.url,
    ...SCENARIO_PATH.chat,
    headers: {
      authorization: `Bearer ${FIXTURE_KEY}`,
      'content-type': 'application/json',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': fixture.baseUrl,
    },
    process: child,
  };
  return { target, child };
}

// ---------------------------------------------------------------- soak

interface SoakResult {
  seconds: number;
  rate: number;
  ok: number;
  errors: Record<string, number>;
  p50_ms: number | null;
  p99_ms: number | null;
  overhead_p99_ms: number | null;
  /** RSS under load, early in the soak (at 10 % of it, at most 30 s in) and at its end. */
  rss_start_mb: number;
  rss_end_mb: number;
  rss_peak_mb: number;
  /** JS heap after a forced full GC (the gc hook) before and after the soak: what is still referenced. */
  heap_start_mb: number | null;
  heap_end_mb: number | null;
  rss_samples_mb: number[];
}

async function soak(server: WarblerProcess, t: Target): Promise<SoakResult> {
  const pool = new Pool(t.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const gcStart = await server.gc();
    // V8 hands pages back for a while after a GC; let that settle so "start" is not a moving target.
    await sleep(3000);
    // Start and end are both read under the same load: a reading taken idle would flatter the end or the start.
    const startAt = Math.min(30, Math.max(1, Math.floor(SOAK_SECONDS / 10)));
    log(`warbler soak: ${SOAK_SECONDS} s at ${SOAK_RATE} req/s; rss read at ${startAt} s and at the end, both under load`);
    const stats = new Stats();
    const samples: number[] = [];
    let rssStart = server.rssKb();
    let rssEnd = rssStart;
    let peak = rssStart;
    const every = Math.max(1, Math.round(SOAK_SECONDS / 10));
    await openLoop(pool, t, SOAK_RATE, SOAK_SECONDS, stats, (s) => {
      const kb = server.rssKb();
      peak = Math.max(peak, kb);
      rssEnd = kb;
      if (s === startAt) rssStart = kb;
      if (s % every === 0) {
        samples.push(round(kb / 1024, 1));
        log(`  soak ${s} s: rss ${round(kb / 1024, 1)} MB, ${stats.ok} ok, p99 so far ${pct(stats, 99)} ms`);
      }
    });
    rssEnd = server.rssKb();
    await sleep(1000);
    const gcEnd = await server.gc();
    const result: SoakResult = {
      seconds: SOAK_SECONDS,
      rate: SOAK_RATE,
      ok: stats.ok,
      errors: stats.errors,
      p50_ms: pct(stats, 50),
      p99_ms: pct(stats, 99),
      overhead_p99_ms: stats.overhead.percentileMs(99),
      rss_start_mb: round(rssStart / 1024, 1),
      rss_end_mb: round(rssEnd / 1024, 1),
      rss_peak_mb: round(peak / 1024, 1),
      heap_start_mb: gcStart?.collected ? round(gcStart.heapUsed / 1048576, 1) : null,
      heap_end_mb: gcEnd?.collected ? round(gcEnd.heapUsed / 1048576, 1) : null,
      rss_samples_mb: samples,
    };
    log(
      `warbler soak: ${result.ok} ok, errors ${JSON.stringify(result.errors)}, p99 ${result.p99_ms} ms; ` +
        `rss ${result.rss_start_mb} → ${result.rss_end_mb} MB (peak ${result.rss_peak_mb}), heap after GC ${result.heap_start_mb} → ${result.heap_end_mb} MB`,
    );
    return result;
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const pin = pinningEnabled();
  // Children inherit this affinity: the fixture shares the bench's core unless told otherwise.
  if (pin) pinSelf(1);
  const gatewayCpu = pin ? 0 : undefined;
  log(
    `gateway: non-streaming, open loop ${RATE} req/s (${WARMUP_SECONDS} s warm-up + ${OPEN_SECONDS} s), ` +
      `closed loop ${CONCURRENCY} in flight × ${CLOSED_SECONDS} s, systems ${SYSTEMS.join(', ')}, Warbler scenarios ${SCENARIOS.join(', ')} ` +
      `with guardrails ${GUARDRAILS.join(', ')}, soak ${SOAK_SECONDS} s at ${SOAK_RATE} req/s. ` +
      `2 cores shared by bench, fixture and gateway: ${pin ? 'gateway pinned to cpu 0, bench + fixture to cpu 1' : 'unpinned'}`,
  );
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, text: 'Because cost, limits and audits all need one exact record of every call.' });
  const systems: Record<TargetName, SystemResult | null> = {};
  const failures: Record<TargetName, string> = {};
  let soakResult: SoakResult | undefined;
  const attempt = async (name: TargetName, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${name}: FAILED: ${message}`);
      systems[name] = null;
      failures[name] = message.split('\n')[0] ?? message;
    }
  };
  try {
    for (const name of SYSTEMS) {
      await waitForQuiet();
      if (name === 'direct') {
        await attempt(name, async () => {
          systems.direct = await measure({ name, origin: fixture.url, ...SCENARIO_PATH.chat, headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' } }, fixture);
        });
      } else if (name === 'warbler') {
        // One Warbler process for every scenario, as one server carries them all; each gets its own warm-up.
        await attempt(name, async () => {
          const w = await startWarblerWithKeys(fixture, gatewayCpu);
          try {
            for (const scenario of SCENARIOS) {
              for (const guard of GUARDRAILS) {
                const t = warblerTarget(w, scenario, guard);
                await waitForQuiet();
                await attempt(t.name, async () => {
                  systems[t.name] = await measure(t, fixture);
                });
              }
            }
            if (SOAK_SECONDS > 0) {
              await sleep(2000);
              soakResult = await soak(w.server, warblerTarget(w, SCENARIOS[0] ?? 'chat', 'off'));
            }
          } finally {
            await w.server.stop();
          }
        });
      } else {
        const start = name === 'bare' ? bareTarget : portkeyTarget;
        await attempt(name, async () => {
          const { target, child } = await start(fixture, gatewayCpu);
          try {
            systems[name] = await measure(target, fixture);
          } finally {
            await child.stop();
          }
        });
      }
    }
  } finally {
    await fixture.stop();
  }

  const targets = summary(systems);
  log(`targets: ${JSON.stringify(targets)}` + (soakResult ? `; soak rss ${soakResult.rss_start_mb} → ${soakResult.rss_end_mb} MB` : ''));
  const result = {
    bench: 'gateway',
    gateway_node_args: GATEWAY_NODE_ARGS.join(' '),
    rps: RATE,
    systems,
    ...(soakResult ? { soak: soakResult } : {}),
    targets,
    ...(Object.keys(failures).length ? { failures } : {}),
    setup: {
      rate: RATE,
      warmup_s: WARMUP_SECONDS,
      open_s: OPEN_SECONDS,
      closed_s: CLOSED_SECONDS,
      concurrency: CONCURRENCY,
      scenarios: SCENARIOS,
      guardrails: GUARDRAILS,
      pinned: pin,
      note: '2 cores shared by bench, fixture and gateway' + (pin ? ' (gateway on cpu 0, bench + fixture on cpu 1)' : ' (unpinned)'),
    },
  };
  // Exit explicitly: keep-alive sockets would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/**
 * Issue 17's figures, per Warbler scenario and guardrails setting: max rate as
 * a fraction of the bare proxy's (target ≥ 0.8), p99 at the fixed rate as a
 * multiple of direct's (target ≤ 2), and what guardrails on cost in max rate
 * (1 − on/off; target ≤ 0.10). Portkey's ratio as before.
 */
function summary(systems: Record<TargetName, SystemResult | null>) {
  const d = systems.direct;
  const bare = systems.bare;
  const out: Record<string, number | boolean | null> = {};
  for (const scenario of SCENARIOS) {
    for (const guard of GUARDRAILS) {
      const w = systems[`warbler_${scenario}_guardrails_${guard}`];
      const tag = `${scenario}_guardrails_${guard}`;
      const vsBare = w && bare && bare.max_rps > 0 ? round(w.max_rps / bare.max_rps, 2) : null;
      const p99 = w && d && d.p99_ms && w.p99_ms !== null ? round(w.p99_ms / d.p99_ms, 2) : null;
      out[`${tag}_max_rps_vs_bare`] = vsBare;
      out[`${tag}_max_rps_vs_bare_ok`] = vsBare === null ? null : vsBare >= 0.8;
      out[`${tag}_p99_vs_direct`] = p99;
      out[`${tag}_p99_vs_direct_ok`] = p99 === null ? null : p99 <= 2;
      // The max-rate ratio as CPU per request predicts it (bare's CPU ÷ Warbler's): what a loaded machine cannot skew as much.
      out[`${tag}_cpu_per_req_bare_over_warbler`] = w?.cpu_ms_per_req && bare?.cpu_ms_per_req ? round(bare.cpu_ms_per_req / w.cpu_ms_per_req, 2) : null;
    }
    const off = systems[`warbler_${scenario}_guardrails_off`];
    const on = systems[`warbler_${scenario}_guardrails_on`];
    const cost = off && on && off.max_rps > 0 ? round(1 - on.max_rps / off.max_rps, 3) : null;
    out[`${scenario}_guardrails_cost`] = cost;
    out[`${scenario}_guardrails_cost_ok`] = cost === null ? null : cost <= 0.1;
  }
  const w = systems.warbler_chat_guardrails_off;
  const p = systems.portkey;
  out.max_rps_vs_portkey = w && p && p.max_rps > 0 ? round(w.max_rps / p.max_rps, 2) : null;
  return out;
}

await main();
