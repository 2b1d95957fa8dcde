// Group fan-out: ~1,000 WebSocket clients in groups of 10 on loopback, the
// same scenario against Warbler (persistence on, SQLite), a minimal Socket.IO
// rooms server and a bare `ws` broadcast server, each a child process.
//
//   1. open loop: a fixed offered rate of FANOUT_RATE messages/s (default 2,000,
//      i.e. 20,000 deliveries/s counting the sender's own copy), scheduled
//      from a clock that never waits for the server; latency is measured from
//      the *intended* send time so a stalled server cannot hide its stalls
//      (no coordinated omission);
//   2. closed loop: every client sends its next message as soon as its own
//      previous one came back (window FANOUT_WINDOW), to find the maximum rate.
//
// Progress goes to stderr; the last stdout line is one JSON object.
//
// `npm run bench:fanout` gives this generator a 64 MB semi-space. With V8's
// default young generation, the frames in flight (~250 ms of 20,000/s) outlive
// two scavenges, get promoted, and a mark-compact every 3-4 s stalls this loop
// for 30-50 ms: every delivery in that window was stamped late, whatever the
// server did. The servers run with Node's defaults, as users run them.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { stopServices } from './lib/cluster.ts';
import { pinningEnabled, pinSelf, waitForQuiet, type ServerProcess } from './lib/proc.ts';
import { CpuWindow, Latency, type CpuShare } from './lib/stats.ts';
import { ALL_SYSTEMS, KNOWN_SYSTEMS, makeSystem, type Conn, type SystemName } from './lib/systems.ts';
import { ensureFdLimit, envList, envNumber, log, mapLimit, round, sleep } from './lib/util.ts';

const CLIENTS = envNumber('FANOUT_CLIENTS', 1000);
const GROUP_SIZE = envNumber('FANOUT_GROUP_SIZE', 10);
const SENDERS_PER_GROUP = envNumber('FANOUT_SENDERS_PER_GROUP', 2);
const RATE = envNumber('FANOUT_RATE', 2000);
const WARMUP_SECONDS = envNumber('FANOUT_WARMUP_SECONDS', 2);
const OPEN_SECONDS = envNumber('FANOUT_SECONDS', 15);
const CLOSED_SECONDS = envNumber('FANOUT_CLOSED_SECONDS', 10);
const WINDOW = envNumber('FANOUT_WINDOW', 1);
const DRAIN_SECONDS = envNumber('FANOUT_DRAIN_SECONDS', 5);
const QUIESCE_SECONDS = envNumber('FANOUT_QUIESCE_SECONDS', 60);
const SYSTEMS = process.env.FANOUT_SYSTEMS ? envList('FANOUT_SYSTEMS', KNOWN_SYSTEMS) : [...ALL_SYSTEMS];

const GROUPS = Math.floor(CLIENTS / GROUP_SIZE);
if (GROUP_SIZE < 2 || GROUP_SIZE > 32) throw new Error('FANOUT_GROUP_SIZE must be 2..32 (one bit per member)');
if (SENDERS_PER_GROUP < 1 || SENDERS_PER_GROUP > GROUP_SIZE) throw new Error('FANOUT_SENDERS_PER_GROUP must be 1..group size');
if (GROUPS < 1) throw new Error('FANOUT_CLIENTS must be at least one group');

/** Closed-loop rate is taken after this much of the phase, once in-flight windows are full. */
const CLOSED_SETTLE_MS = Math.min(1000, (CLOSED_SECONDS * 1000) / 4);

const WARM = 0;
const OPEN = 1;
const CLOSED = 2;
type Phase = typeof WARM | typeof OPEN | typeof CLOSED;

interface PhaseStats {
  sent: number;
  /** Unique (message, member) deliveries, the sender's own copy included. */
  delivered: number;
  duplicated: number;
  errors: Record<string, number>;
  latency: Latency;
  /** Deliveries to a member on another node than the sender's (multi-node systems only). */
  crossNode: Latency;
}
const newPhase = (): PhaseStats => ({ sent: 0, delivered: 0, duplicated: 0, errors: {}, latency: new Latency(), crossNode: new Latency() });

interface Client {
  group: number;
  index: number;
  /** The node it is connected to (0 on single-node systems). */
  node: number;
  conn: Conn;
  inflight: number;
}

/**
 * Everything known about each message, by number k, in typed arrays: the
 * generator has to stay lean (it shares 2 cores with the server), and one
 * bit per group member is enough to tell a delivery from a duplicate.
 */
class Ledger {
  count = 0;
  group = new Int32Array(1 << 16);
  sender = new Uint8Array(1 << 16);
  senderNode = new Uint8Array(1 << 16);
  phase = new Uint8Array(1 << 16);
  received = new Uint32Array(1 << 16);

  add(group: number, sender: number, senderNode: number, phase: Phase): number {
    if (this.count === this.group.length) this.grow();
    const k = this.count++;
    this.group[k] = group;
    this.sender[k] = sender;
    this.senderNode[k] = senderNode;
    this.phase[k] = phase;
    return k;
  }

  private grow(): void {
    const size = this.group.length * 2;
    const grow = <T extends Int32Array | Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.group = grow(this.group, (n) => new Int32Array(n));
    this.sender = grow(this.sender, (n) => new Uint8Array(n));
    this.senderNode = grow(this.senderNode, (n) => new Uint8Array(n));
    this.phase = grow(this.phase, (n) => new Uint8Array(n));
    this.received = grow(this.received, (n) => new Uint32Array(n));
  }
}

export interface FanoutResult {
  delivered_per_s: number;
  lost: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_per_s: number;
  rss_mb: number;
  duplicated: number;
  errors: Record<string, number>;
  closed_p50_ms: number | null;
  closed_p99_ms: number | null;
  cpu_pct: { open: CpuShare; closed: CpuShare };
  /** This process's own event-loop delay during the open loop: a stalled generator stamps deliveries late. */
  generator_loop_delay_ms: { p99: number; max: number };
  /** Server processes (nodes); CPU and RSS above are their sums. */
  nodes: number;
  /** Open loop, deliveries to a member on another node than the sender's; null on one node. */
  cross_node_p50_ms: number | null;
  cross_node_p99_ms: number | null;
  cross_node_delivered: number;
  closed_cross_node_p99_ms: number | null;
}

// FANOUT_SLOW_REPORT=1: per second of the open loop, how many deliveries took over 20 ms (acks among them)
// and the slowest; tells a tail spread evenly (queueing) from one made in a few bad seconds (stalls).
const SLOW_REPORT = process.env.FANOUT_SLOW_REPORT === '1';

class SlowSeconds {
  private readonly seconds = new Map<number, { n: number; slow: number; acks: number; slowAcks: number; max: number }>();
  /** This process's own longest event-loop delay per second, to line up with the slow seconds. */
  private readonly loopMax = new Map<number, number>();
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });
  private readonly timer = SLOW_REPORT
    ? setInterval(() => {
        this.loopMax.set(Math.floor(performance.now() / 1000) - 1, this.loop.max / 1e6);
        this.loop.reset();
      }, 1000).unref()
    : undefined;

  constructor() {
    if (SLOW_REPORT) this.loop.enable();
  }

  note(now: number, latencyMs: number, isAck: boolean): void {
    const sec = Math.floor(now / 1000);
    let e = this.seconds.get(sec);
    if (!e) this.seconds.set(sec, (e = { n: 0, slow: 0, acks: 0, slowAcks: 0, max: 0 }));
    e.n++;
    if (latencyMs > 20) e.slow++;
    if (isAck) {
      e.acks++;
      if (latencyMs > 20) e.slowAcks++;
    }
    if (latencyMs > e.max) e.max = latencyMs;
  }

  print(out: (line: string) => void): void {
    const first = Math.min(...this.seconds.keys());
    for (const [sec, e] of this.seconds) {
      const loop = this.loopMax.get(sec);
      out(
        `  second ${sec - first}: ${e.n} deliveries, ${e.slow} over 20 ms (acks ${e.slowAcks}/${e.acks}), slowest ${e.max.toFixed(1)} ms` +
          (loop === undefined ? '' : `; generator loop delay max ${loop.toFixed(1)} ms`),
      );
    }
  }
}

class FanoutRun {
  readonly ledger = new Ledger();
  readonly slow = new SlowSeconds();
  readonly phases: [PhaseStats, PhaseStats, PhaseStats] = [newPhase(), newPhase(), newPhase()];
  clients: Client[] = [];
  /** Every connection opened, even when connecting the rest failed: all must be closed. */
  readonly opened: Conn[] = [];
  /** Unique deliveries so far, any phase: the rate windows difference it. */
  deliveries = 0;
  stray = 0;
  lastDeliveryAt = 0;
  unexpectedCloses = 0;
  closing = false;
  closedLoopOn = false;

  constructor(readonly server: ServerProcess) {}

  onDelivery(c: Client, k: number, t: number): void {
    const now = performance.now();
    this.lastDeliveryAt = now;
    const ledger = this.ledger;
    if (!(k >= 0 && k < ledger.count) || ledger.group[k] !== c.group) {
      this.stray++;
      return;
    }
    const phase = ledger.phase[k] as Phase;
    const stats = this.phases[phase];
    const bit = 1 << c.index;
    const seen = ledger.received[k] as number;
    if (seen & bit) {
      stats.duplicated++;
      return;
    }
    ledger.received[k] = seen | bit;
    this.deliveries++;
    stats.delivered++;
    stats.latency.recordMs(now - t);
    if (ledger.senderNode[k] !== c.node) stats.crossNode.recordMs(now - t);
    if (phase === OPEN && SLOW_REPORT) this.slow.note(now, now - t, ledger.sender[k] === c.index);
    if (phase === CLOSED && ledger.sender[k] === c.index) this.closedLoopNext(c, 0);
  }

  onError(c: Client, k: number, code: string): void {
    const known = k >= 0 && k < this.ledger.count;
    const phase = known ? (this.ledger.phase[k] as Phase) : CLOSED;
    const errors = this.phases[phase].errors;
    errors[code] = (errors[code] ?? 0) + 1;
    // A refused send will never come back: free its window slot, gently if the server asked us to slow down.
    if (known && phase === CLOSED) this.closedLoopNext(c, code === 'rate_limited' ? 50 : 10);
  }

  onClose(code: number, reason: string): void {
    if (this.closing) return;
    this.unexpectedCloses++;
    if (this.unexpectedCloses <= 5) log(`  client closed by server: ${code} ${reason}`);
  }

  private closedLoopNext(c: Client, delayMs: number): void {
    c.inflight--;
    if (!this.closedLoopOn) return;
    if (delayMs === 0) this.closedLoopSend(c);
    else setTimeout(() => this.closedLoopSend(c), delayMs);
  }

  closedLoopSend(c: Client): void {
    if (!this.closedLoopOn) return;
    const k = this.ledger.add(c.group, c.index, c.node, CLOSED);
    this.phases[CLOSED].sent++;
    c.inflight++;
    c.conn.send(k, performance.now());
  }

  /** Open-loop schedule: message n is due at start + n/RATE whatever the server is doing. */
  openLoop(): Promise<{ measuredDeliveries: number; measuredMs: number }> {
    const senders: Client[] = [];
    // Round-robin over groups first so consecutive messages hit different groups.
    for (let s = 0; s < SENDERS_PER_GROUP; s++) {
      for (let g = 0; g < GROUPS; g++) senders.push(this.clients[g * GROUP_SIZE + s] as Client);
    }
    const interval = 1000 / RATE;
    const warmCount = Math.round(RATE * WARMUP_SECONDS);
    const total = warmCount + Math.round(RATE * OPEN_SECONDS);
    const start = performance.now() + 5;
    let n = 0;
    let windowStart: { at: number; deliveries: number } | null = warmCount === 0 ? { at: start, deliveries: 0 } : null;
    return new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (n < total) {
          const due = start + n * interval;
          if (due > now) break;
          if (n === warmCount && !windowStart) windowStart = { at: now, deliveries: this.deliveries };
          const c = senders[n % senders.length] as Client;
          const phase = n < warmCount ? WARM : OPEN;
          const k = this.ledger.add(c.group, c.index, c.node, phase);
          this.phases[phase].sent++;
          c.conn.send(k, due);
          n++;
        }
        if (n < total) {
          setTimeout(tick, 1);
          return;
        }
        const ws = windowStart ?? { at: start, deliveries: 0 };
        resolve({ measuredDeliveries: this.deliveries - ws.deliveries, measuredMs: performance.now() - ws.at });
      };
      setTimeout(tick, 5);
    });
  }

  /**
   * Waits until nothing has arrived for a second: a server still flushing an
   * open-loop backlog would otherwise be credited (or blamed) in the closed loop.
   */
  async quiesce(seconds: number): Promise<boolean> {
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() - this.lastDeliveryAt < 1000) {
      if (performance.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  async drain(phases: Phase[], seconds: number): Promise<void> {
    const deadline = performance.now() + seconds * 1000;
    const missing = () => phases.reduce<number>((sum, p) => sum + this.phases[p].sent * GROUP_SIZE - this.phases[p].delivered, 0);
    while (missing() > 0 && performance.now() < deadline) await sleep(50);
  }
}

/** Samples server RSS; peak is what the machine must have. */
function rssSampler(server: ServerProcess, run: FanoutRun) {
  let peakKb = server.rssKb();
  let ticks = 0;
  let lastDeliveries = run.deliveries;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const kb = server.rssKb();
    if (kb > peakKb) peakKb = kb;
    if (++ticks % 20 === 0) {
      const now = performance.now();
      const rate = ((run.deliveries - lastDeliveries) * 1000) / (now - lastAt);
      log(`  ${Math.round(rate)} deliveries/s, server rss ${Math.round(kb / 1024)} MB`);
      lastDeliveries = run.deliveries;
      lastAt = now;
    }
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return peakKb;
    },
  };
}

function cpuText(c: CpuShare): string {
  const other = c.other_pct > 10 ? ` — WARNING: other processes used ${c.other_pct}% of a core, figures are skewed` : '';
  return `cpu: server ${c.server_pct}%, generator ${c.generator_pct}%, other ${c.other_pct}%${other}`;
}

async function runSystem(name: SystemName, pin: boolean): Promise<FanoutResult> {
  const system = makeSystem(name);
  await waitForQuiet();
  log(`${name}: starting ${system.nodes > 1 ? `${system.nodes} × ` : ''}${system.script}`);
  const server = await system.start(pin ? 0 : undefined);
  const run = new FanoutRun(server);
  try {
    const roster = await system.setup(server, GROUPS, GROUP_SIZE);
    const slots = roster.groups.flatMap((group, g) => group.members.map((member, j) => ({ group, member, g, j })));
    const connectStarted = performance.now();
    run.clients = await mapLimit(slots, 50, async ({ group, member, g, j }) => {
      const client: Client = { group: g, index: j, node: member.node ?? 0, inflight: 0, conn: null as unknown as Conn };
      client.conn = await system.connect(server, group, member, {
        onDelivery: (k, t) => run.onDelivery(client, k, t),
        onError: (k, code) => run.onError(client, k, code),
        onClose: (code, reason) => run.onClose(code, reason),
      });
      run.opened.push(client.conn);
      return client;
    });
    log(`${name}: ${run.clients.length} clients connected in ${((performance.now() - connectStarted) / 1000).toFixed(1)} s, server rss ${Math.round(server.rssKb() / 1024)} MB`);
    await sleep(1000);

    const sampler = rssSampler(server, run);
    log(`${name}: open loop, ${RATE} msg/s from ${SENDERS_PER_GROUP * GROUPS} senders, ${WARMUP_SECONDS} s warm-up + ${OPEN_SECONDS} s measured`);
    const openCpu = new CpuWindow(server);
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const open = await run.openLoop();
    loopDelay.disable();
    if (SLOW_REPORT) run.slow.print(log);
    const generatorLoopDelay = { p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) };
    const openCpuPct = openCpu.end();
    await run.drain([WARM, OPEN], DRAIN_SECONDS);
    // Frozen now: whatever arrives after the drain deadline is lost, and must not colour the percentiles.
    const sentOpen = run.phases[WARM].sent + run.phases[OPEN].sent;
    const openResult = {
      delivered_per_s: Math.round((open.measuredDeliveries * 1000) / open.measuredMs),
      lost: sentOpen * GROUP_SIZE - run.phases[WARM].delivered - run.phases[OPEN].delivered,
      p50_ms: run.phases[OPEN].latency.percentileMs(50),
      p99_ms: run.phases[OPEN].latency.percentileMs(99),
      cross_node_p50_ms: run.phases[OPEN].crossNode.percentileMs(50),
      cross_node_p99_ms: run.phases[OPEN].crossNode.percentileMs(99),
      cross_node_delivered: run.phases[OPEN].crossNode.count,
    };
    log(
      `${name}: open loop delivered ${openResult.delivered_per_s}/s, lost ${openResult.lost}, ` +
        `p50 ${openResult.p50_ms} ms, p99 ${openResult.p99_ms} ms, ` +
        (system.nodes > 1 ? `cross-node p50 ${openResult.cross_node_p50_ms} ms, p99 ${openResult.cross_node_p99_ms} ms, ` : '') +
        `${cpuText(openCpuPct)}, ` +
        `generator loop delay p99 ${generatorLoopDelay.p99} ms max ${generatorLoopDelay.max} ms`,
    );

    if (!(await run.quiesce(QUIESCE_SECONDS))) log(`${name}: WARNING: still delivering the open-loop backlog after ${QUIESCE_SECONDS} s`);
    log(`${name}: closed loop, all ${run.clients.length} clients send, window ${WINDOW}, ${CLOSED_SECONDS} s`);
    const closedCpu = new CpuWindow(server);
    const closedStart = performance.now();
    run.closedLoopOn = true;
    for (const c of run.clients) for (let w = 0; w < WINDOW; w++) run.closedLoopSend(c);
    await sleep(CLOSED_SETTLE_MS);
    // Only closed-loop messages count: stragglers from the open loop are not this phase's throughput.
    const settled = { at: performance.now(), deliveries: run.phases[CLOSED].delivered };
    await sleep(Math.max(0, CLOSED_SECONDS * 1000 - (performance.now() - closedStart)));
    const maxPerS = ((run.phases[CLOSED].delivered - settled.deliveries) * 1000) / (performance.now() - settled.at);
    run.closedLoopOn = false;
    const closedCpuPct = closedCpu.end();
    const peakKb = sampler.stop();
    await run.drain([CLOSED], 2);
    const closed = run.phases[CLOSED];
    const closedP50 = closed.latency.percentileMs(50);
    const closedP99 = closed.latency.percentileMs(99);
    log(
      `${name}: closed loop max ${Math.round(maxPerS)} deliveries/s, p50 ${closedP50} ms, p99 ${closedP99} ms, ` +
        `${cpuText(closedCpuPct)}, undelivered ${closed.sent * GROUP_SIZE - closed.delivered}`,
    );
    if (run.stray > 0) log(`${name}: ${run.stray} deliveries for unknown messages or the wrong group`);

    const errors: Record<string, number> = {};
    for (const p of run.phases) for (const [code, n] of Object.entries(p.errors)) errors[code] = (errors[code] ?? 0) + n;
    return {
      ...openResult,
      max_per_s: Math.round(maxPerS),
      rss_mb: round(peakKb / 1024, 1),
      duplicated: run.phases.reduce((s, p) => s + p.duplicated, 0),
      errors,
      closed_p50_ms: closedP50,
      closed_p99_ms: closedP99,
      cpu_pct: { open: openCpuPct, closed: closedCpuPct },
      generator_loop_delay_ms: generatorLoopDelay,
      nodes: system.nodes,
      closed_cross_node_p99_ms: closed.crossNode.percentileMs(99),
    };
  } finally {
    run.closing = true;
    run.closedLoopOn = false;
    for (const conn of run.opened) conn.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  ensureFdLimit(CLIENTS * 2 + 1024);
  const pin = pinningEnabled();
  if (pin) pinSelf(1);
  log(
    `fanout: ${GROUPS * GROUP_SIZE} clients in ${GROUPS} groups of ${GROUP_SIZE}; ` +
      `load generator = this Node process (pid ${process.pid}${pin ? ', pinned to cpu 1' : ''}); ` +
      `each server = its own child process${pin ? ' pinned to cpu 0' : ''}, started in turn; all on 127.0.0.1`,
  );
  // WARBLER_DATABASE_URL reaches the Warbler server through the environment: the same run on PostgreSQL.
  const warblerStore = process.env.WARBLER_DATABASE_URL ? 'postgres' : 'sqlite';
  if (warblerStore === 'postgres') log('warbler stores in PostgreSQL (WARBLER_DATABASE_URL); its CPU is counted as "other"');
  const systems: Partial<Record<SystemName, FanoutResult | null>> = {};
  const failures: Partial<Record<SystemName, string>> = {};
  try {
    for (const name of SYSTEMS) {
      try {
        systems[name] = await runSystem(name, pin);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`${name}: FAILED: ${message}`);
        systems[name] = null;
        failures[name] = message.split('\n')[0] ?? message;
      }
    }
  } finally {
    await stopServices();
  }
  const result = {
    bench: 'fanout',
    offered_per_s: RATE * GROUP_SIZE,
    systems,
    ...encryptionCost(systems),
    ...multiNode(systems),
    ...(Object.keys(failures).length ? { failures } : {}),
    setup: {
      clients: GROUPS * GROUP_SIZE,
      group_size: GROUP_SIZE,
      senders_per_group: SENDERS_PER_GROUP,
      messages_per_s: RATE,
      warmup_s: WARMUP_SECONDS,
      open_s: OPEN_SECONDS,
      closed_s: CLOSED_SECONDS,
      closed_window: WINDOW,
      pinned: pin,
      warbler_store: warblerStore,
      generator_node_flags: process.execArgv.filter((a) => a.startsWith('--max-semi-space')),
      deliveries_count_sender_copy: true,
    },
  };
  // Exit explicitly: keep-alive fetch sockets and client timers would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a != null && b != null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;

/**
 * Issue 14: Warbler with 2 nodes on PostgreSQL + Redis against Socket.IO with
 * 2 nodes on its Redis adapter (the floor of the same cross-node work) and
 * against Warbler's 1 node on PostgreSQL. For p99s lower is better, for the
 * closed-loop maximum higher.
 */
function multiNode(systems: Partial<Record<SystemName, FanoutResult | null>>) {
  const two = systems['warbler-2nodes'];
  if (!two) return {};
  const peer = systems['socketio-redis'];
  const one = systems['warbler-pg'];
  const clean = (r: FanoutResult) => r.lost === 0 && r.duplicated === 0;
  return {
    multi_node: {
      nothing_lost_or_duplicated: clean(two),
      ...(peer && {
        warbler_2nodes_over_socketio_redis: {
          cross_node_p99_ms: ratio(two.cross_node_p99_ms, peer.cross_node_p99_ms),
          closed_max_per_s: ratio(two.max_per_s, peer.max_per_s),
          peer_nothing_lost_or_duplicated: clean(peer),
        },
      }),
      ...(one && {
        warbler_2nodes_over_1node: {
          p99_ms: ratio(two.p99_ms, one.p99_ms),
          closed_max_per_s: ratio(two.max_per_s, one.max_per_s),
        },
      }),
    },
  };
}

/** With warbler and warbler-plain in one run: what encryption at rest costs, as ratios of encrypted to plaintext. */
function encryptionCost(systems: Partial<Record<SystemName, FanoutResult | null>>) {
  const on = systems.warbler;
  const off = systems['warbler-plain'];
  if (!on || !off) return {};
  return {
    encryption_cost: {
      closed_max_per_s: ratio(on.max_per_s, off.max_per_s),
      open_p50_ms: ratio(on.p50_ms, off.p50_ms),
      open_p99_ms: ratio(on.p99_ms, off.p99_ms),
      closed_p99_ms: ratio(on.closed_p99_ms, off.closed_p99_ms),
      open_server_cpu: ratio(on.cpu_pct.open.server_pct, off.cpu_pct.open.server_pct),
      rss_mb: ratio(on.rss_mb, off.rss_mb),
    },
  };
}

await main();
