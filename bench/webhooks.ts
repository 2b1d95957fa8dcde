// Webhooks: what the durable outbox costs the send path, and how fast the
// deliverer drains it. One Warbler in this process (SQLite, or PostgreSQL with
// WARBLER_DATABASE_URL), one receiver on 127.0.0.1 (its own process) answering 200 at once.
//
// 1. WEBHOOK_BENCH_SENDS (400) REST message sends, one after another, with no
//    webhook endpoint: the floor of the same work.
// 2. The same sends with one endpoint subscribed to message.created: each send
//    now also writes an outbox row before it answers.
// 3. The time until the receiver has every event, and each event's lag from
//    its message's created_at to its arrival.
//
// Run: npx tsx bench/webhooks.ts. Progress goes to stderr; the last stdout line is one JSON object.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildWarbler } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { Latency } from './lib/stats.ts';
import { envNumber, log, round, sleep } from './lib/util.ts';

const SENDS = envNumber('WEBHOOK_BENCH_SENDS', 400);

// The receiver runs in its own process, so its work is not counted against Warbler's send path.
const RECEIVER = `
  import { createServer } from 'node:http';
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { process.stdout.write(JSON.stringify({ lag: Date.now() - JSON.parse(body).created_at }) + '\\n'); res.writeHead(200).end('ok'); });
  });
  s.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: s.address().port }) + '\\n'));
`;
const child = spawn(process.execPath, ['--input-type=module', '-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const lags = new Latency();
let received = 0;
const port = await new Promise<number>((resolve) => {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { port?: number; lag?: number };
    if (m.port) resolve(m.port);
    if (m.lag !== undefined) {
      lags.recordMs(m.lag);
      received++;
    }
  });
});
const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-bench-webhooks-'));
const configFile = path.join(dataDir, 'warbler.yaml');
await writeFile(configFile, `outbound:\n  allow_hosts: ["127.0.0.1:${port}"]\n  allow_http_hosts: ["127.0.0.1:${port}"]\n`);
const warbler = await buildWarbler(loadConfig({
  WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'bench-webhooks-master-key-1',
  WARBLER_LOG_LEVEL: 'silent', WARBLER_CONFIG: configFile, ...(process.env.WARBLER_DATABASE_URL && { WARBLER_DATABASE_URL: process.env.WARBLER_DATABASE_URL }),
}));
const url = await warbler.listen();
const secret = await warbler.apps.rotateSecret('default');
const call = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
};
for (const id of ['ann', 'ben']) await call('POST', '/api/users', { id, name: id });
const { id: conversationId } = await call('POST', '/api/conversations', { kind: 'group', member_ids: ['ann', 'ben'], title: 'bench' });

async function sends(label: string): Promise<Latency> {
  const latency = new Latency();
  for (let i = 0; i < 20; i++) await call('POST', `/api/conversations/${conversationId}/messages`, { sender_id: 'ann', type: 'text', content: { text: `warm ${i}` } });
  for (let i = 0; i < SENDS; i++) {
    const t = performance.now();
    await call('POST', `/api/conversations/${conversationId}/messages`, { sender_id: 'ann', type: 'text', content: { text: `${label} ${i}` } });
    latency.recordMs(performance.now() - t);
  }
  log(`${label}: p50 ${latency.percentileMs(50)} ms, p99 ${latency.percentileMs(99)} ms`);
  return latency;
}

const floor = await sends('no endpoint');
await call('POST', '/api/webhooks/endpoints', { url: `http://127.0.0.1:${port}/hook`, event_types: ['message.created'] });
const started = performance.now();
const withOutbox = await sends('one endpoint');
while (received < SENDS + 20) await sleep(10);
const drainedMs = performance.now() - started;
await warbler.close();
child.kill();
await rm(dataDir, { recursive: true, force: true });

console.log(JSON.stringify({
  bench: 'webhooks', store: warbler.store.dialect, sends: SENDS,
  send_p50_ms_floor: floor.percentileMs(50), send_p99_ms_floor: floor.percentileMs(99),
  send_p50_ms_outbox: withOutbox.percentileMs(50), send_p99_ms_outbox: withOutbox.percentileMs(99),
  p50_ratio: round((withOutbox.percentileMs(50) ?? 0) / (floor.percentileMs(50) ?? 1), 2),
  delivered: received, drained_ms: round(drainedMs, 0),
  lag_p50_ms: lags.percentileMs(50), lag_p99_ms: lags.percentileMs(99),
}));
