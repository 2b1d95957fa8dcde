// Shadow runs must not slow live replies. SHADOW_USERS (40) people each hold a
// WebSocket to a direct chat with one AI agent (gpt-4o-mini routed to the
// upstream fixture); questions go out at a fixed SHADOW_RATE (20 a second,
// round robin). The run alternates phases of SHADOW_PHASE_SECONDS (10): with
// no experiment ("off"), then with a shadow experiment replaying 100% of the
// turns to two candidate models ("on"), SHADOW_PAIRS (3) times, so both see
// the same machine. Time to first token is the person's send → the first
// message.delta of the agent's reply, read on their socket.
//
// Progress goes to stderr; the last stdout line is one JSON object.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startFixture } from './lib/fixture.ts';
import { Latency } from './lib/stats.ts';
import { envNumber, log, round, sleep } from './lib/util.ts';
import { api, createApp, pickId, startWarbler } from './lib/warbler.ts';

const USERS = envNumber('SHADOW_USERS', 40);
const RATE = envNumber('SHADOW_RATE', 20);
const PHASE_SECONDS = envNumber('SHADOW_PHASE_SECONDS', 10);
const PAIRS = Math.max(1, envNumber('SHADOW_PAIRS', 3));
const TTFT_MS = envNumber('SHADOW_TTFT_MS', 200);
const INTERVAL_MS = envNumber('SHADOW_INTERVAL_MS', 10);
const KEY = 'sk-bench-fixture';

interface Person {
  userId: string;
  conversationId: string;
  ws: WebSocket;
  /** The turn waiting for its first delta, and when it was sent. */
  pending: { sentAt: number; agentMessage?: string; firstAt?: number; done: boolean } | undefined;
}

async function main() {
  const fixture = await startFixture({ apiKey: KEY, ttftMs: TTFT_MS, intervalMs: INTERVAL_MS, text: 'Refunds are paid within 14 days to the original card.' });
  const config = join(tmpdir(), `warbler-bench-shadow-${process.pid}.yaml`);
  writeFileSync(config, [
    'routes:',
    '  cand-a: { deployments: [{ provider: openai, model: gpt-4o-mini }] }',
    '  cand-b: { deployments: [{ provider: openai, model: gpt-4o-mini }] }',
    'prices:',
    '  - { model: cand-a, currency: USD, effective_from: "2024-01-01", per_million: { input: "0.05", output: "0.20" } }',
    '  - { model: cand-b, currency: CNY, effective_from: "2024-01-01", per_million: { input: "0.30", output: "0.60" } }',
    '',
  ].join('\n'));
  const server = await startWarbler({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_CONFIG: config, WARBLER_LOG_LEVEL: 'warn', WARBLER_AGENT_REPLIES_PER_USER: '50' } });
  try {
    const { secret } = await createApp(server, 'shadow-bench');
    const call = <T>(method: string, path: string, body?: unknown) => api<T>(server.url, method, path, secret, body);
    const agentId = pickId(await call('POST', '/api/agents', { name: 'Support Bot', model: 'gpt-4o-mini', max_tokens: 200 }), 'agent');
    const people: Person[] = [];
    for (let i = 0; i < USERS; i++) {
      const userId = pickId(await call('POST', '/api/users', { id: `p${i}`, name: `Person ${i}` }), 'user');
      const token = (await call<{ token: string }>('POST', `/api/users/${userId}/tokens`, {})).token;
      const conversationId = pickId(await call('POST', '/api/conversations', { kind: 'direct', member_ids: [userId, agentId], created_by: userId }), 'conversation');
      people.push({ userId, conversationId, ws: await connect(server.url, token), pending: undefined });
    }
    for (const p of people) listen(p, agentId);
    log(`shadow bench: ${USERS} people, ${RATE} questions/s, phases of ${PHASE_SECONDS} s, ${PAIRS} pairs`);
    const off = new Latency();
    const on = new Latency();
    let sent = { off: 0, on: 0 };
    let skipped = { off: 0, on: 0 };
    const counters = { replayed: 0, dropped_queue_full: 0, skipped_budget: 0, skipped_rate: 0, live_turns: 0 };
    await phase(people, 3, new Latency()); // warm-up
    for (let pair = 0; pair < PAIRS; pair++) {
      const a = await phase(people, PHASE_SECONDS, off);
      sent.off += a.sent;
      skipped.off += a.skipped;
      const exp = await call<{ id: string }>('POST', '/api/experiments', {
        agent_id: agentId, name: `bench ${pair}`, mode: 'shadow', sample_rate: 1, max_turns_per_minute: 6_000, daily_budget_usd: 1_000,
        candidates: [{ model: 'cand-a' }, { model: 'cand-b' }],
      });
      const b = await phase(people, PHASE_SECONDS, on);
      sent.on += b.sent;
      skipped.on += b.skipped;
      await sleep(1_000);
      const x = await call<{ counters: typeof counters }>('POST', `/api/experiments/${exp.id}/stop`, {});
      for (const k of Object.keys(counters) as Array<keyof typeof counters>) counters[k] += x.counters[k];
      log(`  pair ${pair + 1}: off p99 ${off.percentileMs(99)} ms, on p99 ${on.percentileMs(99)} ms, replayed ${x.counters.replayed} of ${x.counters.live_turns}`);
    }
    for (const p of people) p.ws.close();
    const p99Off = off.percentileMs(99);
    const p99On = on.percentileMs(99);
    console.log(JSON.stringify({
      bench: 'shadow', users: USERS, rate_per_s: RATE, phase_s: PHASE_SECONDS, pairs: PAIRS, fixture_ttft_ms: TTFT_MS,
      turns_off: off.count, turns_on: on.count, not_sent_busy: skipped,
      ttft_off_p50_ms: off.percentileMs(50), ttft_off_p99_ms: p99Off, ttft_on_p50_ms: on.percentileMs(50), ttft_on_p99_ms: p99On,
      p99_on_over_off: p99Off && p99On ? round(p99On / p99Off, 3) : null,
      shadow: { ...counters, candidates: 2, replayed_share: counters.live_turns ? round(counters.replayed / counters.live_turns, 3) : null },
      sent,
    }));
  } finally {
    await server.stop();
    await fixture.stop();
  }
}

function connect(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function ready(data) {
      if ((JSON.parse(data.toString()) as { type: string }).type !== 'ready') return;
      ws.off('message', ready);
      resolve(ws);
    });
  });
}

/** Reads each person's socket: the agent's new message, its first delta (the TTFT), and its end. */
function listen(p: Person, agentId: string): void {
  p.ws.on('message', (data) => {
    const at = performance.now();
    const f = JSON.parse(data.toString()) as { type: string; message?: { id: string; sender_id: string; state: string }; message_id?: string };
    const turn = p.pending;
    if (!turn) return;
    if (f.type === 'message' && f.message?.sender_id === agentId) turn.agentMessage = f.message.id;
    else if (f.type === 'message.delta' && f.message_id === turn.agentMessage && turn.firstAt === undefined) turn.firstAt = at;
    else if (f.type === 'message.updated' && f.message?.id === turn.agentMessage && f.message?.state !== 'streaming') turn.done = true;
  });
}

/** Questions at RATE a second for `seconds`, round robin; a person still waiting for a reply is passed over (counted). */
async function phase(people: Person[], seconds: number, into: Latency): Promise<{ sent: number; skipped: number }> {
  const total = Math.round(seconds * RATE);
  const start = performance.now();
  let sent = 0;
  let skipped = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const p = people[i % people.length]!;
    collect(p, into);
    if (p.pending) {
      skipped++;
      continue;
    }
    p.pending = { sentAt: performance.now(), done: false };
    p.ws.send(JSON.stringify({ type: 'send', id: `q${i}`, conversation_id: p.conversationId, client_msg_id: `c${Date.now()}-${i}`, content: { text: 'How long do refunds take?' } }));
    sent++;
  }
  // Let the last replies finish, then take their figures.
  const until = performance.now() + 15_000;
  while (people.some((p) => p.pending && !p.pending.done) && performance.now() < until) await sleep(20);
  for (const p of people) collect(p, into);
  return { sent, skipped };
}

function collect(p: Person, into: Latency): void {
  const turn = p.pending;
  if (!turn?.done) return;
  if (turn.firstAt !== undefined) into.recordMs(turn.firstAt - turn.sentAt);
  p.pending = undefined;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
