// A/B of Warbler's CPU per /v1 request between two trees, for a machine that
// other work keeps busy: both servers run at once on the same core (same
// fixture, same bodies), and each block sends the same number of requests to
// both at the same time (GATEWAY_AB_TOGETHER=0: one after the other, A B then
// B A), so the machine's load weighs on both sides alike. What
// bench/gateway-cpu.ts measures per case, as a ratio B / A per block; the
// ratio of the summed CPU, and the median of the blocks, are the reading.
//   GATEWAY_AB_A, GATEWAY_AB_B — main.ts of each tree (default: this tree for
//     both, which shows the noise floor); e.g. GATEWAY_AB_A=/tmp/before/packages/server/src/main.ts
//   GATEWAY_AB_A_NODE_ARGS, GATEWAY_AB_B_NODE_ARGS — Node flags of each side
//     (default none), to weigh a runtime setting such as a GC flag
//   GATEWAY_AB_CASES — chat_off,responses_off (default)
//   GATEWAY_AB_BLOCKS (8) blocks per side and case of GATEWAY_AB_BLOCK (1,000)
//   requests, after GATEWAY_AB_WARMUP (1,500) per side and case; 16 in flight.
// Progress to stderr; the last stdout line is one JSON object.

import { Pool } from 'undici';
import { startFixture } from './lib/fixture.ts';
import { machineBusyMs, pinningEnabled, pinSelf } from './lib/proc.ts';
import { envArgs, envList, envNumber, log, round } from './lib/util.ts';
import { api, createApp, startWarbler, type WarblerProcess } from './lib/warbler.ts';

const CASES = envList('GATEWAY_AB_CASES', ['chat_off', 'responses_off'] as const);
const BLOCKS = envNumber('GATEWAY_AB_BLOCKS', 8);
const BLOCK = envNumber('GATEWAY_AB_BLOCK', 1000);
const WARMUP = envNumber('GATEWAY_AB_WARMUP', 1500);
const CONCURRENCY = 16;
const TOGETHER = process.env.GATEWAY_AB_TOGETHER !== '0';
const FIXTURE_KEY = 'sk-bench-fixture';
const here = 'packages/server/src/main.ts';
const ENTRIES = { A: process.env.GATEWAY_AB_A ?? here, B: process.env.GATEWAY_AB_B ?? here };
/** Node flags of each side (e.g. GATEWAY_AB_B_NODE_ARGS="--max-semi-space-size=32"), to weigh a runtime setting the same way as a change. */
const NODE_ARGS = { A: envArgs('GATEWAY_AB_A_NODE_ARGS'), B: envArgs('GATEWAY_AB_B_NODE_ARGS') };

type Case = (typeof CASES)[number];
let n = 0;
const question = () => `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${++n})`;
const SYSTEM = 'You are a concise assistant for a chat app.';
const BODIES: Record<Case, { path: string; body: () => string; answered: string }> = {
  chat_off: {
    path: '/v1/chat/completions',
    answered: '"choices"',
    body: () => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: question() }], max_tokens: 64, temperature: 0.2 }),
  },
  responses_off: {
    path: '/v1/responses',
    answered: '"output"',
    body: () => JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM, input: question(), max_output_tokens: 64, temperature: 0.2 }),
  },
};

interface Side {
  name: 'A' | 'B';
  server: WarblerProcess;
  auth: string;
}

/** `count` requests, 16 in flight; the server's CPU ms per request. */
async function block(side: Side, c: Case, count: number): Promise<{ cpuPerReq: number; errors: number }> {
  const pool = new Pool(side.server.url, { connections: CONCURRENCY, pipelining: 1 });
  const { path, body, answered } = BODIES[c];
  let sent = 0;
  let errors = 0;
  const cpu0 = side.server.cpuMs();
  const worker = async () => {
    while (sent < count) {
      sent++;
      try {
        const res = await pool.request({ path, method: 'POST', headers: { authorization: side.auth, 'content-type': 'application/json' }, body: body() });
        const text = await res.body.text();
        if (res.statusCode !== 200 || !text.includes(answered)) {
          if (errors++ < 3) log(`  ${side.name} error ${res.statusCode}: ${text.slice(0, 200)}`);
        }
      } catch (err) {
        if (errors++ < 3) log(`  ${side.name} error ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = side.server.cpuMs() - cpu0;
  await pool.close();
  return { cpuPerReq: cpu / count, errors };
}

async function start(name: 'A' | 'B', fixture: { baseUrl: string }, cpu: number | undefined): Promise<Side> {
  process.env.BENCH_WARBLER_ENTRY = ENTRIES[name];
  const server = await startWarbler({ ...(cpu !== undefined && { cpu }), nodeArgs: NODE_ARGS[name], env: { OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '100000' } });
  const { secret } = await createApp(server, `gateway-ab-${name}-${Date.now()}`);
  const key = await api<{ secret: string }>(server.url, 'POST', '/api/gateway/keys', secret, {
    name: 'gateway a/b', allowed_models: ['gpt-4o-mini'], monthly_budget_usd: 1_000_000, rpm: 10_000_000, tpm: 10_000_000_000, metadata: { team: 'bench', guardrails: 'off' },
  });
  return { name, server, auth: `Bearer ${key.secret}` };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const pin = pinningEnabled();
  if (pin) pinSelf(1);
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, cpu: pin ? 1 : undefined });
  const sides: Side[] = [];
  const results: Record<string, unknown> = {};
  const busy0 = machineBusyMs();
  const wall0 = performance.now();
  try {
    sides.push(await start('A', fixture, pin ? 0 : undefined), await start('B', fixture, pin ? 0 : undefined));
    for (const c of CASES) {
      for (const side of sides) await block(side, c, WARMUP);
      const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
      const ratios: number[] = [];
      let errors = 0;
      for (let i = 0; i < BLOCKS; i++) {
        const order = i % 2 === 0 ? sides : [...sides].reverse();
        const got: Partial<Record<'A' | 'B', number>> = {};
        const one = async (side: Side) => {
          const r = await block(side, c, BLOCK);
          errors += r.errors;
          got[side.name] = r.cpuPerReq;
          cpu[side.name].push(r.cpuPerReq);
        };
        if (TOGETHER) await Promise.all(order.map(one));
        else for (const side of order) await one(side);
        ratios.push(got.B! / got.A!);
        log(`${c} block ${i + 1}: A ${round(got.A!, 3)} ms, B ${round(got.B!, 3)} ms CPU per request (B/A ${round(got.B! / got.A!, 3)})`);
      }
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      results[c] = {
        b_over_a_sum: round(sum(cpu.B) / sum(cpu.A), 3),
        a_ms_median: round(median(cpu.A), 3), b_ms_median: round(median(cpu.B), 3),
        b_over_a_median: round(median(ratios), 3), b_over_a_min: round(Math.min(...ratios), 3), b_over_a_max: round(Math.max(...ratios), 3), errors,
      };
    }
  } finally {
    for (const side of sides) await side.server.stop();
    await fixture.stop();
    const loadPct = Math.round(((machineBusyMs() - busy0) / (performance.now() - wall0)) * 100);
    process.stdout.write(`${JSON.stringify({ bench: 'gateway-cpu-ab', a: ENTRIES.A, b: ENTRIES.B, a_node_args: NODE_ARGS.A.join(' '), b_node_args: NODE_ARGS.B.join(' '), blocks: BLOCKS, block: BLOCK, together: TOGETHER, machine_busy_pct: loadPct, results })}\n`);
  }
}

await main();
