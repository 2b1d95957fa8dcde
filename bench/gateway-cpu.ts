// CPU per request of Warbler's /v1 and of the bare proxy, measured as the
// server process's CPU time (from /proc) over a closed loop of requests, in
// one run: what `bench:gateway` judges the targets of issue 17 by, without
// its wall-clock phases, so it stays readable on a machine other sessions
// keep busy. Cases (GATEWAY_CPU_CASES, default all):
//   bare         — bench/peers/bare-proxy.ts, the chat call passed through;
//   chat_off     — non-streaming chat completion, a key with guardrails off;
//   chat_on      — the same with the bench policy (1,000-word mask list,
//                  mobile numbers and emails masked and restored);
//   stream_off   — the same chat call with stream: true (one chunk a word);
//   responses_off, responses_on — POST /v1/responses, translated.
// GATEWAY_CPU_REQUESTS (4,000) per case after GATEWAY_CPU_WARMUP (1,500),
// GATEWAY_CPU_CONCURRENCY (16) in flight. With
// BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" Warbler's
// profile covers the cases run (pick one with GATEWAY_CPU_CASES to read it).
// Progress to stderr; the last stdout line is one JSON object.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { benchWords } from './lib/bench-words.ts';
import { startFixture } from './lib/fixture.ts';
import { freePort, machineBusyMs, pinningEnabled, pinSelf, startChild } from './lib/proc.ts';
import { envList, envNumber, log, round } from './lib/util.ts';
import { api, createApp, startWarbler } from './lib/warbler.ts';

const CASES = envList('GATEWAY_CPU_CASES', ['bare', 'chat_off', 'chat_on', 'stream_off', 'responses_off', 'responses_on'] as const);
const REQUESTS = envNumber('GATEWAY_CPU_REQUESTS', 4000);
const WARMUP = envNumber('GATEWAY_CPU_WARMUP', 1500);
const CONCURRENCY = Math.max(1, envNumber('GATEWAY_CPU_CONCURRENCY', 16));
const FIXTURE_KEY = 'sk-bench-fixture';

type Case = (typeof CASES)[number];

let n = 0;
const question = () => `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${++n})`;
const SYSTEM = 'You are a concise assistant for a chat app.';
const chat = (stream: boolean) => () =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: question() }],
    max_tokens: 64,
    temperature: 0.2,
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
const responses = () => JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM, input: question(), max_output_tokens: 64, temperature: 0.2 });


interface Target {
  origin: string;
  path: string;
  body: () => string;
  answered: string;
  auth: string;
  cpuMs(): number;
}

/** Closed loop of `count` requests; returns the server's CPU ms per request and the errors. */
async function run(t: Target, count: number): Promise<{ cpuPerReq: number; otherPct: number; errors: number; rps: number }> {
  const pool = new Pool(t.origin, { connections: CONCURRENCY, pipelining: 1 });
  let sent = 0;
  let errors = 0;
  const cpu0 = t.cpuMs();
  const busy0 = machineBusyMs();
  const wall0 = performance.now();
  const worker = async () => {
    while (sent < count) {
      sent++;
      try {
        const res = await pool.request({ path: t.path, method: 'POST', headers: { authorization: t.auth, 'content-type': 'application/json' }, body: t.body() });
        const text = await res.body.text();
        if (res.statusCode !== 200 || !text.includes(t.answered)) {
          if (errors++ < 3) log(`  error ${res.statusCode}: ${text.slice(0, 200)}`);
        }
      } catch (err) {
        if (errors++ < 3) log(`  error ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = performance.now() - wall0;
  const cpu = t.cpuMs() - cpu0;
  const busy = machineBusyMs() - busy0;
  await pool.close();
  return { cpuPerReq: cpu / count, otherPct: Math.round(((busy - cpu) / wall) * 100), errors, rps: Math.round((count / wall) * 1000) };
}

async function main(): Promise<void> {
  const pin = pinningEnabled();
  if (pin) pinSelf(1);
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, cpu: pin ? 1 : undefined });
  const results: Record<string, { cpu_ms_per_req: number; other_pct: number; errors: number; rps: number }> = {};
  const measure = async (name: Case, t: Target) => {
    await run(t, WARMUP);
    const r = await run(t, REQUESTS);
    results[name] = { cpu_ms_per_req: round(r.cpuPerReq, 3), other_pct: r.otherPct, errors: r.errors, rps: r.rps };
    log(`${name}: ${round(r.cpuPerReq, 3)} ms CPU per request (${r.rps} req/s, other processes ${r.otherPct}% of a core, ${r.errors} errors)`);
  };
  try {
    if (CASES.includes('bare')) {
      const port = await freePort();
      const child = await startChild({
        name: 'bare', nodeArgs: ['--import', 'tsx', 'bench/peers/bare-proxy.ts'], port, readyPath: '/healthz',
        cpu: pin ? 0 : undefined, env: { PEER_PORT: String(port), PEER_UPSTREAM: fixture.url },
      });
      try {
        await measure('bare', { origin: child.url, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: `Bearer ${FIXTURE_KEY}`, cpuMs: child.cpuMs });
      } finally {
        await child.stop();
      }
    }
    const warblerCases = CASES.filter((c) => c !== 'bare');
    if (warblerCases.length === 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'gateway-cpu-'));
    const config = join(dir, 'warbler.yaml');
    writeFileSync(config, JSON.stringify({
      guardrails: {
        lists: { bench: { action: 'mask', words: benchWords() } },
        pii: false,
        policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restore_in_reply: true } } },
      },
    }));
    const server = await startWarbler({
      cpu: pin ? 0 : undefined,
      env: { OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_CONFIG: config, WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '100000' },
    });
    try {
      const { secret } = await createApp(server, `gateway-cpu-${Date.now()}`);
      const key = async (guard: 'on' | 'off') =>
        (await api<{ secret: string }>(server.url, 'POST', '/api/gateway/keys', secret, {
          name: `gateway cpu, guardrails ${guard}`, allowed_models: ['gpt-4o-mini'], monthly_budget_usd: 1_000_000, rpm: 10_000_000, tpm: 10_000_000_000,
          metadata: { team: 'bench', guardrails: guard === 'on' ? 'bench' : 'off' },
        })).secret;
      const keys = { off: `Bearer ${await key('off')}`, on: `Bearer ${await key('on')}` };
      const base = { origin: server.url, cpuMs: server.cpuMs };
      const targets: Record<Exclude<Case, 'bare'>, Target> = {
        chat_off: { ...base, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: keys.off },
        chat_on: { ...base, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: keys.on },
        stream_off: { ...base, path: '/v1/chat/completions', body: chat(true), answered: '[DONE]', auth: keys.off },
        responses_off: { ...base, path: '/v1/responses', body: responses, answered: '"output"', auth: keys.off },
        responses_on: { ...base, path: '/v1/responses', body: responses, answered: '"output"', auth: keys.on },
      };
      for (const c of warblerCases) await measure(c, targets[c as Exclude<Case, 'bare'>]);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await fixture.stop();
    process.stdout.write(`${JSON.stringify({ bench: 'gateway-cpu', requests: REQUESTS, concurrency: CONCURRENCY, results })}\n`);
  }
}

await main();
