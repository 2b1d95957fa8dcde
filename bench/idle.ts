// Idle connections: what each authenticated, idle WebSocket costs the server
// in memory. Users sit in groups of IDLE_GROUP_SIZE, so Warbler holds real
// memberships and the Socket.IO peer real rooms. Per system:
//   setup (Warbler: users, tokens, groups through its REST API) → restart the
//   server on the same data → open and close IDLE_WARMUP_CONNECTIONS → steady
//   RSS "before" → open IDLE_CONNECTIONS → steady RSS "after";
//   kb_per_connection = (after - before) / connections.
// RSS is read from /proc/<pid>/status after a full GC forced through the gc
// hook every bench server is started with.
//
// Progress goes to stderr; the last stdout line is one JSON object.

import { performance } from 'node:perf_hooks';
import { waitForQuiet, type ServerProcess } from './lib/proc.ts';
import { makeSystem, type Conn, type SystemName } from './lib/systems.ts';
import { ensureFdLimit, envList, envNumber, log, mapLimit, round, sleep } from './lib/util.ts';

const IDLE_SYSTEMS = ['warbler', 'socketio'] as const satisfies readonly SystemName[];
const CONNECTIONS = envNumber('IDLE_CONNECTIONS', 5000);
const GROUP_SIZE = envNumber('IDLE_GROUP_SIZE', 10);
const SETTLE_SECONDS = envNumber('IDLE_SETTLE_SECONDS', 30);
const SETTLE_MAX_SECONDS = Math.max(SETTLE_SECONDS, envNumber('IDLE_SETTLE_MAX_SECONDS', 120));
const WARMUP_CONNECTIONS = envNumber('IDLE_WARMUP_CONNECTIONS', 100);
const SYSTEMS = envList('IDLE_SYSTEMS', IDLE_SYSTEMS);

const GROUPS = Math.ceil(CONNECTIONS / GROUP_SIZE);

interface IdleResult {
  kb_per_connection: number;
  connections: number;
  rss_before_mb: number;
  rss_after_mb: number;
  /** JS heap growth per connection, as the server itself saw it after GC (null without the gc hook). */
  heap_kb_per_connection: number | null;
}

interface Memory {
  rssKb: number;
  heapUsed: number | null;
}

/**
 * RSS keeps moving for a while after a server starts or after a burst of
 * work: V8 shrinks its heaps when idle (in the main isolate and in the tsx
 * loader thread, which process.memoryUsage() does not see) and malloc hands
 * pages back late. So: GC and sample every 2 s, and take the reading once
 * the last 6 samples (10 s) lie within 1 MB of each other, after at least
 * IDLE_SETTLE_SECONDS and at most IDLE_SETTLE_MAX_SECONDS.
 */
async function steadyMemory(server: ServerProcess, label: string): Promise<Memory> {
  const started = performance.now();
  const samples: number[] = [];
  for (;;) {
    await sleep(2000);
    const report = await server.gc();
    const memory = { rssKb: server.rssKb(), heapUsed: report?.collected ? report.heapUsed : null };
    samples.push(memory.rssKb);
    const recent = samples.slice(-6);
    const stable = recent.length === 6 && Math.max(...recent) - Math.min(...recent) <= 1024;
    const elapsed = performance.now() - started;
    if ((stable && elapsed >= SETTLE_SECONDS * 1000) || elapsed >= SETTLE_MAX_SECONDS * 1000) {
      if (!stable) log(`  ${server.name} ${label}: RSS still moving after ${SETTLE_MAX_SECONDS} s; taking the last sample`);
      log(`  ${server.name} ${label}: RSS samples (MB) ${samples.map((kb) => Math.round(kb / 1024)).join(' ')}`);
      return memory;
    }
  }
}

async function runSystem(name: SystemName): Promise<IdleResult> {
  const system = makeSystem(name);
  await waitForQuiet();
  log(`${name}: starting ${system.script}`);
  let server = await system.start();
  const conns: Conn[] = [];
  const handlers = (onClose: (code: number, reason: string) => void) => ({ onDelivery() {}, onError() {}, onClose });
  let closing = false;
  let dropped = 0;
  const onClose = (code: number, reason: string) => {
    if (closing) return;
    if (++dropped <= 5) log(`  ${name}: connection closed by server: ${code} ${reason}`);
  };
  try {
    const roster = await system.setup(server, GROUPS, GROUP_SIZE);
    // A fresh process: memory the setup's REST calls left committed (V8 keeps freed pages) would
    // otherwise sit in "before" and be reused by the connections, hiding their cost.
    server = await system.restart(server);
    const slots = roster.groups.flatMap((group) => group.members.map((member) => ({ group, member }))).slice(0, CONNECTIONS);

    // Open and close a few first, so one-time costs (lazy modules, JIT, caches) land in "before".
    const warm = await mapLimit(slots.slice(0, WARMUP_CONNECTIONS), 50, ({ group, member }) =>
      system.connect(server, group, member, handlers(() => {})),
    );
    for (const c of warm) c.close();

    const before = await steadyMemory(server, 'before');
    log(`${name}: before: rss ${round(before.rssKb / 1024)} MB, heap ${before.heapUsed === null ? '?' : round(before.heapUsed / 2 ** 20)} MB`);

    const started = performance.now();
    await mapLimit(slots, 100, async ({ group, member }) => {
      conns.push(await system.connect(server, group, member, handlers(onClose)));
    });
    log(`${name}: ${conns.length} authenticated connections open in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const after = await steadyMemory(server, 'after');
    const open = conns.length - dropped;
    log(`${name}: after: rss ${round(after.rssKb / 1024)} MB, heap ${after.heapUsed === null ? '?' : round(after.heapUsed / 2 ** 20)} MB, ${open} still open`);
    if (dropped > 0) throw new Error(`${dropped} connections were closed by the server while idle`);

    return {
      kb_per_connection: round((after.rssKb - before.rssKb) / open, 1),
      connections: open,
      rss_before_mb: round(before.rssKb / 1024),
      rss_after_mb: round(after.rssKb / 1024),
      heap_kb_per_connection:
        before.heapUsed === null || after.heapUsed === null ? null : round((after.heapUsed - before.heapUsed) / 1024 / open, 1),
    };
  } finally {
    closing = true;
    for (const c of conns) c.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  // Client sockets live here; the server child inherits the limit for its side.
  ensureFdLimit(CONNECTIONS + 1024);
  log(`idle: ${CONNECTIONS} connections in groups of ${GROUP_SIZE}; clients in this Node process (pid ${process.pid}), each server its own child process, in turn, on 127.0.0.1`);
  const systems: Partial<Record<SystemName, IdleResult | null>> = {};
  const failures: Partial<Record<SystemName, string>> = {};
  for (const name of SYSTEMS) {
    try {
      systems[name] = await runSystem(name);
      log(`${name}: ${systems[name]?.kb_per_connection} KB per connection`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${name}: FAILED: ${message}`);
      systems[name] = null;
      failures[name] = message.split('\n')[0] ?? message;
    }
  }
  const result = {
    bench: 'idle',
    connections: CONNECTIONS,
    systems,
    ...(Object.keys(failures).length ? { failures } : {}),
  };
  // Exit explicitly: keep-alive fetch sockets and client timers would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

await main();
