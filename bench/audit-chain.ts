// The audit log's own cost: appending entries to one app's hash chain
// (read the head, hash, insert with the signed head) and verifying the whole chain, on SQLite in
// a throwaway data dir. Against the floor of the same work: a bare insert of
// the same row without reading the head or hashing. Prints one JSON line.
//   npx tsx bench/audit-chain.ts [entries]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { AuditLog, AuditStore, HeadSigner } from '../packages/server/src/audit/index.ts';
import { openSqliteStore } from '../packages/server/src/store/index.ts';

const n = Number(process.argv[2] ?? 2_000);
const dir = await mkdtemp(path.join(tmpdir(), 'warbler-bench-audit-'));
const store = openSqliteStore(path.join(dir, 'warbler.db'));
await store.migrate();
const db = store.roomTables();
const log = new AuditLog(new AuditStore(db), new HeadSigner({ current: randomBytes(32) }));
const change = { name: 'Support bot', model: 'gpt-4o-mini', system_prompt: 'Answer from the help centre. '.repeat(8), tools: [{ name: 't', headers: { authorization: 'Bearer secret-value-1234' } }] };

let t = performance.now();
for (let i = 0; i < n; i++) {
  await log.record({ appId: 'bench', actor: { kind: 'app_secret', id: 'bench' }, ip: '203.0.113.7', userAgent: 'bench/1', action: 'agent.update', resource: 'agent', resourceId: `agent-${i}`, before: change, after: { ...change, name: `Support bot ${i}` } });
}
const appendMs = performance.now() - t;

t = performance.now();
const verification = await log.verify('bench');
const verifyMs = performance.now() - t;

// The floor: the same rows, inserted with no head read and no hashing.
const rows = await db.selectFrom('audit_log').selectAll().where('app_id', '=', 'bench').execute();
t = performance.now();
for (const row of rows) await db.insertInto('audit_log').values({ ...row, app_id: 'floor' }).execute();
const floorMs = performance.now() - t;

console.log(JSON.stringify({
  bench: 'audit-chain', store: 'sqlite', entries: n, ok: verification.ok,
  append_us_per_entry: Math.round((appendMs / n) * 1000), floor_insert_us_per_entry: Math.round((floorMs / n) * 1000),
  append_vs_floor: Math.round((appendMs / floorMs) * 100) / 100,
  verify_ms_total: Math.round(verifyMs), verify_entries_per_s: Math.round(n / (verifyMs / 1000)),
}));
await store.close();
await rm(dir, { recursive: true, force: true });
