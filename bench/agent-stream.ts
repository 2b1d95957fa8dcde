// Agent streaming relay: AGENT_STREAM_STREAMS (200) direct conversations, each
// between a user holding a raw WebSocket and an AI agent (gpt-4o-mini routed
// to the upstream fixture through OPENAI_BASE_URL). All users send at once;
// every agent streams a reply of AGENT_STREAM_CHUNKS (40) chunks, one every
// AGENT_STREAM_INTERVAL_MS (20), from the fixture through Warbler's agent
// runtime and realtime fan-out to the user's socket.
//
// The fixture writes `[[t:<ms>]]` (performance.timeOrigin + performance.now()
// in its own process) before every chunk's text; the bench reads the same
// clock when a `message.delta` arrives. Both processes are on this machine,
// so the difference is the relay delay: fixture socket → Warbler (SSE parse,
// agent runtime, coalescing) → WebSocket → client. A delta that merges
// several chunks yields one sample per chunk, each from its own stamp.
//
// Before Warbler, the same streams are read by the bench straight from the
// fixture (`baseline`): the floor set by the fixture, the loopback and the
// bench itself on this 2-core machine. Then the same streams through the
// bare relay (bench/peers/relay-server.ts: undici + SSE parse → ws, no store,
// no agent logic), the floor of the same work: `warbler_over_relay` has
// Warbler's CPU per chunk and relay p99 as ratios to it.
//
// Progress goes to stderr; the last stdout line is one JSON object.

import http from 'node:http';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { replyText, startFixture, type FixtureProcess } from './lib/fixture.ts';
import { freePort, machineBusyMs, ownCpuMs, startServer, waitForQuiet } from './lib/proc.ts';
import { Latency } from './lib/stats.ts';
import { ensureFdLimit, envNumber, log, mapLimit, round, sleep } from './lib/util.ts';
import { api, createApp, pickId, startWarbler, type WarblerProcess } from './lib/warbler.ts';

const STREAMS = envNumber('AGENT_STREAM_STREAMS', 200);
const CHUNKS = envNumber('AGENT_STREAM_CHUNKS', 40);
const INTERVAL_MS = envNumber('AGENT_STREAM_INTERVAL_MS', 20);
const TTFT_MS = envNumber('AGENT_STREAM_TTFT_MS', 300);
const ROUNDS = Math.max(1, envNumber('AGENT_STREAM_ROUNDS', 3));
const WARMUP_STREAMS = envNumber('AGENT_STREAM_WARMUP_STREAMS', 20);
const TIMEOUT_SECONDS = envNumber('AGENT_STREAM_TIMEOUT_SECONDS', 60);
const BASELINE = envNumber('AGENT_STREAM_BASELINE', 1) !== 0;
/** The bare relay peer (bench/peers/relay-server.ts) in the same run; AGENT_STREAM_RELAY=0 skips it. */
const RELAY = envNumber('AGENT_STREAM_RELAY', 1) !== 0;

const FIXTURE_KEY = 'sk-bench-fixture';
const STAMP = /\[\[t:(\d+(?:\.\d+)?)\]\]/g;
const wallNow = () => performance.timeOrigin + performance.now();

/** Every stamp in `text`, each recorded as (arrival − stamp) ms; returns how many. */
function recordStamps(text: string, arrivedAt: number, into: Latency[]): number {
  let n = 0;
  for (const m of text.matchAll(STAMP)) {
    const ms = arrivedAt - Number(m[1]);
    for (const h of into) h.recordMs(ms);
    n++;
  }
  return n;
}

interface CpuPct {
  /** CPU time the server used in the window, ms: contention on the machine changes it less than latency. */
  server_ms: number;
  server_pct: number;
  fixture_pct: number;
  bench_pct: number;
  other_pct: number;
}

/** CPU of each process over a window, in % of one core (the machine has 2: 200 % is all of it). */
function cpuWindow(server: { cpuMs(): number } | undefined, fixture: FixtureProcess) {
  const at = performance.now();
  const server0 = server?.cpuMs() ?? 0;
  const fixture0 = fixture.cpuMs();
  const own0 = ownCpuMs();
  const machine0 = machineBusyMs();
  return (): CpuPct => {
    const wall = performance.now() - at;
    const pct = (ms: number) => round((ms / wall) * 100, 0);
    const used = (server?.cpuMs() ?? 0) - server0;
    const fix = fixture.cpuMs() - fixture0;
    const own = ownCpuMs() - own0;
    const machine = machineBusyMs() - machine0;
    return { server_ms: Math.round(used), server_pct: pct(used), fixture_pct: pct(fix), bench_pct: pct(own), other_pct: Math.max(0, pct(machine - used - fix - own)) };
  };
}

// ---------------------------------------------------------------- baseline: fixture → bench, no relay

async function baseline(fixture: FixtureProcess): Promise<{ p50_ms: number | null; p99_ms: number | null; max_ms: number | null; chunks: number; cpu_pct: CpuPct }> {
  const latency = new Latency();
  const cpu = cpuWindow(undefined, fixture);
  let chunks = 0;
  // node:http rather than fetch: WHATWG streams cost the reader about twice the CPU per chunk, which would raise the floor.
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        `${fixture.baseUrl}/chat/completions`,
        { method: 'POST', agent, headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`fixture answered ${res.statusCode}`));
          res.setEncoding('utf8');
          let carry = '';
          res.on('data', (text: string) => {
            const arrivedAt = wallNow();
            carry += text;
            // A stamp can straddle two reads; only whole SSE events are scanned.
            const end = carry.lastIndexOf('\n\n');
            if (end < 0) return;
            chunks += recordStamps(carry.slice(0, end), arrivedAt, [latency]);
            carry = carry.slice(end + 2);
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `baseline ${i}` }] }));
    });
  await Promise.all(Array.from({ length: STREAMS }, (_, i) => one(i)));
  agent.destroy();
  return { p50_ms: latency.percentileMs(50), p99_ms: latency.percentileMs(99), max_ms: latency.percentileMs(100), chunks, cpu_pct: cpu() };
}

// ---------------------------------------------------------------- Warbler

interface Pair {
  index: number;
  userId: string;
  agentId: string;
  conversationId: string;
  token: string;
}

type ReplyState = 'idle' | 'asked' | 'streaming' | 'complete' | 'failed';

interface Reply {
  state: ReplyState;
  messageId: string | undefined;
  text: string;
  stamps: number;
  deltas: number;
  askedAt: number;
  firstDeltaAt: number | undefined;
}

/** What one measured round (or all of them) saw. */
class Tally {
  relay = new Latency();
  /** Fixture stamp → Warbler's flush (`ts` of the delta frame, Date.now() in the server: 1 ms resolution). */
  upstream = new Latency();
  /** Warbler's flush → arrival at the client. */
  downstream = new Latency();
  /** The user's send → the first delta of the reply (agent runtime + the fixture's TTFT). */
  firstDelta = new Latency();
  deltas = 0;
  stamps = 0;
  completed = 0;
  failed = 0;
  /** Deltas whose offset was not where the text so far ended. */
  gaps = 0;
  /** Finished replies whose final text differs from the deltas put together. */
  mismatched = 0;
  failures: Record<string, number> = {};
}

/** A user socket that can ask a question and tally the reply: Warbler's user or the bare relay's client. */
interface Asker {
  ask(round: number, tallies: Tally[]): void;
  close(): void;
}

class Client implements Asker {
  reply: Reply = newReply();
  ws!: WebSocket;
  tallies: Tally[] = [];
  closedUnexpectedly = false;
  closing = false;

  constructor(
    readonly pair: Pair,
    private readonly onSettled: () => void,
  ) {}

  connect(url: string): Promise<void> {
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${encodeURIComponent(this.pair.token)}`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`/ws answered ${res.statusCode}`)));
      this.ws.on('close', (code, reason) => {
        reject(new Error(`closed ${code} before ready`));
        if (!this.closing) {
          this.closedUnexpectedly = true;
          log(`  user ${this.pair.userId}: socket closed by the server: ${code} ${reason.toString()}`);
        }
      });
      this.ws.on('message', (data) => {
        const arrivedAt = wallNow();
        const f = JSON.parse(data.toString()) as Frame;
        if (f.type === 'ready') {
          this.ws.off('error', reject);
          this.ws.on('error', () => {});
          resolve();
        } else this.onFrame(f, arrivedAt);
      });
    });
  }

  ask(round: number, tallies: Tally[]): void {
    this.tallies = tallies;
    this.reply = { ...newReply(), state: 'asked', askedAt: wallNow() };
    this.ws.send(
      JSON.stringify({
        type: 'send', id: `r${round}`, conversation_id: this.pair.conversationId, client_msg_id: `r${round}-${this.pair.index}`,
        content: { text: `Question ${round} from user ${this.pair.index}: how do streaming replies work?` },
      }),
    );
  }

  private onFrame(f: Frame, arrivedAt: number): void {
    const r = this.reply;
    switch (f.type) {
      case 'message': {
        const m = f.message;
        if (m.sender_id !== this.pair.agentId || r.state !== 'asked') return;
        if (m.state === 'streaming') {
          r.state = 'streaming';
          r.messageId = m.id;
        } else this.settle(m);
        return;
      }
      case 'message.delta': {
        if (r.state === 'asked') {
          // Pushes of one conversation leave in order, so this only happens if the server changes that.
          r.state = 'streaming';
          r.messageId = f.message_id;
        }
        if (r.state !== 'streaming' || f.message_id !== r.messageId) return;
        if (f.offset !== r.text.length) for (const t of this.tallies) t.gaps++;
        r.text = r.text.slice(0, f.offset) + f.text;
        r.deltas++;
        if (r.firstDeltaAt === undefined) {
          r.firstDeltaAt = arrivedAt;
          for (const t of this.tallies) t.firstDelta.recordMs(arrivedAt - r.askedAt);
        }
        const stamps = recordStamps(f.text, arrivedAt, this.tallies.map((t) => t.relay));
        r.stamps += stamps;
        for (const m of f.text.matchAll(STAMP)) {
          const stamp = Number(m[1]);
          for (const t of this.tallies) {
            t.upstream.recordMs(Math.max(0, f.ts - stamp));
            t.downstream.recordMs(Math.max(0, arrivedAt - f.ts));
          }
        }
        for (const t of this.tallies) {
          t.deltas++;
          t.stamps += stamps;
        }
        return;
      }
      case 'message.updated':
        if (r.state === 'streaming' && f.message.id === r.messageId) this.settle(f.message);
        return;
      case 'error':
        log(`  user ${this.pair.userId}: error ${f.code}: ${f.message}`);
        if (r.state === 'asked') this.settle({ state: 'failed', content: { error: { code: f.code } } });
        return;
    }
  }

  private settle(m: { state: string; content: { text?: unknown; error?: { code?: string } } }): void {
    const r = this.reply;
    if (m.state === 'complete') {
      r.state = 'complete';
      for (const t of this.tallies) {
        t.completed++;
        if (m.content.text !== r.text) t.mismatched++;
      }
    } else if (m.state === 'failed') {
      r.state = 'failed';
      const code = m.content.error?.code ?? 'unknown';
      for (const t of this.tallies) {
        t.failed++;
        t.failures[code] = (t.failures[code] ?? 0) + 1;
      }
    } else return;
    this.onSettled();
  }

  close(): void {
    this.closing = true;
    this.ws?.terminate();
  }
}

type Frame =
  | { type: 'ready' }
  | { type: 'message'; message: WireMessage }
  | { type: 'message.updated'; message: WireMessage }
  | { type: 'message.delta'; message_id: string; offset: number; text: string; ts: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'ack' | 'agent.state' | 'conversation' | 'receipt' | 'pong' };

interface WireMessage {
  id: string;
  sender_id: string;
  state: string;
  content: { text?: unknown; error?: { code?: string } };
}

const newReply = (): Reply => ({ state: 'idle', messageId: undefined, text: '', stamps: 0, deltas: 0, askedAt: 0, firstDeltaAt: undefined });

async function setup(server: WarblerProcess): Promise<Pair[]> {
  const started = performance.now();
  const { secret } = await createApp(server, `agent-stream-${Date.now()}`);
  const base = server.url;
  // Bounded concurrency: a quick setup that is not a load test of its own.
  const pairs = await mapLimit(Array.from({ length: STREAMS }, (_, i) => i), 16, async (index): Promise<Pair> => {
    const userId = pickId(await api(base, 'POST', '/api/users', secret, { id: `bench_u${index}`, name: `Bench user ${index}` }), 'user');
    const agentId = pickId(
      await api(base, 'POST', '/api/agents', secret, {
        id: `bench_agent${index}`, name: `Bench agent ${index}`, model: 'gpt-4o-mini', system_prompt: 'You are a helpful assistant.',
      }),
      'agent',
    );
    const { token } = await api<{ token: string }>(base, 'POST', `/api/users/${encodeURIComponent(userId)}/tokens`, secret, { ttl_seconds: 7200 });
    const conversationId = pickId(
      await api(base, 'POST', '/api/conversations', secret, { kind: 'direct', member_ids: [userId, agentId], created_by: userId }),
      'conversation',
    );
    return { index, userId, agentId, conversationId, token };
  });
  log(`warbler: ${STREAMS} users, agents, tokens and direct conversations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return pairs;
}

/** All clients ask at once (one synchronous loop); resolves when every reply settled or the timeout passed. */
async function runRound(clients: Asker[], roundNo: number, tallies: Tally[], settled: { n: number }): Promise<boolean> {
  settled.n = 0;
  const done = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (settled.n >= clients.length) {
        clearInterval(check);
        resolve();
      }
    }, 10);
    setTimeout(() => {
      clearInterval(check);
      resolve();
    }, TIMEOUT_SECONDS * 1000);
  });
  for (const c of clients) c.ask(roundNo, tallies);
  await done;
  return settled.n >= clients.length;
}

interface RelayResult {
  p50_ms: number | null;
  p99_ms: number | null;
  completed: number;
  replies: number;
  failed: number;
  p999_ms: number | null;
  max_ms: number | null;
  chunks_expected: number;
  chunks_received: number;
  deltas: number;
  gaps: number;
  mismatched: number;
  failures: Record<string, number>;
  upstream_p50_ms: number | null;
  upstream_p99_ms: number | null;
  downstream_p50_ms: number | null;
  downstream_p99_ms: number | null;
  first_delta_p50_ms: number | null;
  first_delta_p99_ms: number | null;
  round_p99_ms: Array<number | null>;
  bench_loop_delay_p99_ms: number;
  /** Server CPU per chunk relayed, all its work in the rounds included (replies started, stored, finished). */
  server_cpu_us_per_chunk: number;
  server_rss_mb: number;
  cpu_pct: CpuPct;
}

/** Warm-up, then the measured rounds against one server; the same for Warbler and the bare relay. */
async function measure(
  name: string,
  server: { cpuMs(): number; rssKb(): number },
  fixture: FixtureProcess,
  clients: Asker[],
  settled: { n: number },
): Promise<RelayResult> {
  if (WARMUP_STREAMS > 0) {
    const warm = clients.slice(0, Math.min(WARMUP_STREAMS, clients.length));
    const ok = await runRound(warm, 0, [new Tally()], settled);
    log(`${name}: warm-up with ${warm.length} streams ${ok ? 'done' : 'TIMED OUT'}`);
    await sleep(500);
  }
  const total = new Tally();
  const roundP99: Array<number | null> = [];
  let peakRssKb = server.rssKb();
  const rssTimer = setInterval(() => (peakRssKb = Math.max(peakRssKb, server.rssKb())), 250);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpu = cpuWindow(server, fixture);
  for (let r = 1; r <= ROUNDS; r++) {
    const tally = new Tally();
    const started = performance.now();
    const ok = await runRound(clients, r, [tally, total], settled);
    roundP99.push(tally.relay.percentileMs(99));
    log(
      `${name}: round ${r}: ${tally.completed}/${clients.length} complete, ${tally.failed} failed${ok ? '' : ' (TIMED OUT)'} in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s; relay p50 ${tally.relay.percentileMs(50)} ms, ` +
        `p99 ${tally.relay.percentileMs(99)} ms, max ${tally.relay.percentileMs(100)} ms; ` +
        `upstream p99 ${tally.upstream.percentileMs(99)} ms, downstream p99 ${tally.downstream.percentileMs(99)} ms`,
    );
    if (r < ROUNDS) await sleep(500);
  }
  const cpuPct = cpu();
  loopDelay.disable();
  clearInterval(rssTimer);
  return {
    p50_ms: total.relay.percentileMs(50),
    p99_ms: total.relay.percentileMs(99),
    completed: total.completed,
    replies: clients.length * ROUNDS,
    failed: total.failed,
    p999_ms: total.relay.percentileMs(99.9),
    max_ms: total.relay.percentileMs(100),
    chunks_expected: clients.length * ROUNDS * CHUNKS,
    chunks_received: total.stamps,
    deltas: total.deltas,
    gaps: total.gaps,
    mismatched: total.mismatched,
    failures: total.failures,
    upstream_p50_ms: total.upstream.percentileMs(50),
    upstream_p99_ms: total.upstream.percentileMs(99),
    downstream_p50_ms: total.downstream.percentileMs(50),
    downstream_p99_ms: total.downstream.percentileMs(99),
    first_delta_p50_ms: total.firstDelta.percentileMs(50),
    first_delta_p99_ms: total.firstDelta.percentileMs(99),
    round_p99_ms: roundP99,
    bench_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6, 2),
    server_cpu_us_per_chunk: Math.round((cpuPct.server_ms * 1000) / Math.max(1, total.stamps)),
    server_rss_mb: round(peakRssKb / 1024, 1),
    cpu_pct: cpuPct,
  };
}

async function runWarbler(fixture: FixtureProcess): Promise<RelayResult> {
  await waitForQuiet();
  const server = await startWarbler({
    env: {
      OPENAI_API_KEY: FIXTURE_KEY,
      OPENAI_BASE_URL: fixture.baseUrl,
      // Every simulated user connects from 127.0.0.1: one address standing for all of them (as bench:fanout does).
      WARBLER_WS_HANDSHAKE_RATE: '100000',
      WARBLER_WS_HANDSHAKE_BURST: '100000',
    },
  });
  const clients: Client[] = [];
  try {
    const pairs = await setup(server);
    const settled = { n: 0 };
    for (const pair of pairs) clients.push(new Client(pair, () => settled.n++));
    await mapLimit(clients, 50, (c) => c.connect(server.url));
    log(`warbler: ${clients.length} user sockets ready, server rss ${Math.round(server.rssKb() / 1024)} MB`);
    const result = await measure('warbler', server, fixture, clients, settled);
    const closed = clients.filter((c) => c.closedUnexpectedly).length;
    if (closed > 0) log(`warbler: WARNING: ${closed} user sockets were closed by the server`);
    return result;
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------- bare relay: undici + SSE parse → ws, nothing else

/** A client of bench/peers/relay-server.ts: one question per round, every delta tallied like Warbler's. */
class RelayClient implements Asker {
  private ws!: WebSocket;
  private tallies: Tally[] = [];
  private text = '';
  private askedAt = 0;
  private firstDelta = false;
  private open = false;

  constructor(
    private readonly index: number,
    private readonly onSettled: () => void,
  ) {}

  connect(url: string): Promise<void> {
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { perMessageDeflate: false });
    this.ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as RelayFrame, wallNow()));
    return new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.once('open', () => {
        this.ws.off('error', reject);
        this.ws.on('error', () => {});
        resolve();
      });
    });
  }

  ask(round: number, tallies: Tally[]): void {
    this.tallies = tallies;
    this.text = '';
    this.firstDelta = false;
    this.open = true;
    this.askedAt = wallNow();
    this.ws.send(`Question ${round} from user ${this.index}: how do streaming replies work?`);
  }

  private onFrame(f: RelayFrame, arrivedAt: number): void {
    if (!this.open) return;
    if ('error' in f) {
      log(`  relay client ${this.index}: ${f.error}`);
      for (const t of this.tallies) {
        t.failed++;
        t.failures.relay = (t.failures.relay ?? 0) + 1;
      }
      return this.settle();
    }
    if ('done' in f) {
      for (const t of this.tallies) {
        t.completed++;
        if (f.text !== this.text) t.mismatched++;
      }
      return this.settle();
    }
    if (f.offset !== this.text.length) for (const t of this.tallies) t.gaps++;
    this.text = this.text.slice(0, f.offset) + f.text;
    if (!this.firstDelta) {
      this.firstDelta = true;
      for (const t of this.tallies) t.firstDelta.recordMs(arrivedAt - this.askedAt);
    }
    const stamps = recordStamps(f.text, arrivedAt, this.tallies.map((t) => t.relay));
    for (const m of f.text.matchAll(STAMP)) {
      const stamp = Number(m[1]);
      for (const t of this.tallies) {
        t.upstream.recordMs(Math.max(0, f.ts - stamp));
        t.downstream.recordMs(Math.max(0, arrivedAt - f.ts));
      }
    }
    for (const t of this.tallies) {
      t.deltas++;
      t.stamps += stamps;
    }
  }

  private settle(): void {
    this.open = false;
    this.onSettled();
  }

  close(): void {
    this.ws?.terminate();
  }
}

type RelayFrame = { offset: number; text: string; ts: number } | { done: true; text: string } | { error: string };

async function runRelay(fixture: FixtureProcess): Promise<RelayResult> {
  await waitForQuiet();
  const port = await freePort();
  const server = await startServer({
    name: 'relay',
    script: 'bench/peers/relay-server.ts',
    port,
    env: { PEER_PORT: String(port), RELAY_UPSTREAM: fixture.baseUrl, RELAY_API_KEY: FIXTURE_KEY },
  });
  const clients: RelayClient[] = [];
  try {
    const settled = { n: 0 };
    for (let i = 0; i < STREAMS; i++) clients.push(new RelayClient(i, () => settled.n++));
    await mapLimit(clients, 50, (c) => c.connect(server.url));
    log(`relay: ${clients.length} sockets ready`);
    return await measure('relay', server, fixture, clients, settled);
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

/** Warbler ÷ the bare relay, for the figures issue 14 asks about (goal: CPU per chunk ≤ 1.5×). */
function relayRatios(warbler: RelayResult, relay: RelayResult) {
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? round(a / b, 2) : null);
  const cpu = ratio(warbler.server_cpu_us_per_chunk, relay.server_cpu_us_per_chunk);
  return {
    cpu_per_chunk: cpu,
    p99: ratio(warbler.p99_ms, relay.p99_ms),
    p50: ratio(warbler.p50_ms, relay.p50_ms),
    cpu_goal_max: 1.5,
    cpu_goal_met: cpu !== null && cpu <= 1.5,
  };
}

async function main(): Promise<void> {
  ensureFdLimit(STREAMS * 4 + 1024);
  log(
    `agent-stream: ${STREAMS} concurrent agent replies of ${CHUNKS} chunks every ${INTERVAL_MS} ms (TTFT ${TTFT_MS} ms), ${ROUNDS} measured round(s); ` +
      `bench (pid ${process.pid}), fixture and Warbler are separate processes sharing this machine's cores, unpinned`,
  );
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, ttftMs: TTFT_MS, intervalMs: INTERVAL_MS, text: replyText(CHUNKS), stampText: true });
  let base: Awaited<ReturnType<typeof baseline>> | null = null;
  let warbler: RelayResult;
  let relay: RelayResult | null = null;
  try {
    if (BASELINE) {
      await waitForQuiet();
      base = await baseline(fixture);
      log(`baseline (fixture → bench, no relay): ${base.chunks} chunks, p50 ${base.p50_ms} ms, p99 ${base.p99_ms} ms, max ${base.max_ms} ms`);
    }
    if (RELAY) {
      relay = await runRelay(fixture);
      log(`relay: p50 ${relay.p50_ms} ms, p99 ${relay.p99_ms} ms; ${relay.completed}/${relay.replies} complete; server cpu ${relay.server_cpu_us_per_chunk} µs per chunk`);
    }
    warbler = await runWarbler(fixture);
  } finally {
    await fixture.stop();
  }
  const allComplete = warbler.completed === warbler.replies;
  const targetMet = allComplete && warbler.p99_ms !== null && warbler.p99_ms <= 10;
  log(
    `warbler: relay p50 ${warbler.p50_ms} ms, p99 ${warbler.p99_ms} ms; ${warbler.completed}/${warbler.replies} complete; ` +
    `server cpu ${warbler.server_cpu_us_per_chunk} µs per chunk; ` +
      `cpu % of one core: server ${warbler.cpu_pct.server_pct}, fixture ${warbler.cpu_pct.fixture_pct}, bench ${warbler.cpu_pct.bench_pct}, other ${warbler.cpu_pct.other_pct} ` +
      `(2 cores: bench, fixture and server compete) — target (all complete, p99 ≤ 10 ms) ${targetMet ? 'MET' : 'MISSED'}`,
  );
  const result = {
    bench: 'agent-stream',
    streams: STREAMS,
    systems: { warbler, ...(relay ? { relay } : {}) },
    ...(relay ? { warbler_over_relay: relayRatios(warbler, relay) } : {}),
    ...(base ? { baseline: base } : {}),
    target: { all_complete: allComplete, p99_ms_max: 10, met: targetMet },
    setup: {
      chunks_per_reply: CHUNKS,
      interval_ms: INTERVAL_MS,
      ttft_ms: TTFT_MS,
      rounds: ROUNDS,
      warmup_streams: WARMUP_STREAMS,
      cores: availableParallelism(),
      note: 'bench, fixture and Warbler share the cores unpinned; cpu_pct is % of one core',
    },
  };
  // Exit explicitly: keep-alive fetch sockets would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

await main();
