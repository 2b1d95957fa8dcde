// A batch whose node is killed with -9 mid-run is finished by another node,
// once its lease runs out: every line in the output once, and no line sent
// upstream twice except those the dead node had in flight.
import pg from 'pg';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterAvailable, startCluster, type Cluster } from './nodes.ts';

const LINES = 40;
const PER_BATCH = 4;

describe.skipIf(!clusterAvailable())('a batch whose node dies', () => {
  let cluster: Cluster;
  let upstream: UpstreamFixture;

  beforeAll(async () => {
    // Each line takes ~150 ms upstream, so 40 lines four at a time run for ~1.5 s: time to kill the node in the middle.
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { ttftMs: 150, intervalMs: 0 } });
    cluster = await startCluster(2, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_BATCH_LEASE_MS: '2000' });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    await upstream?.close();
  });

  it('is resumed by the surviving node with every line in the output once', async () => {
    const [a] = cluster.nodes;
    const key = (await cluster.api(a!, 'POST', '/api/gateway/keys', { name: 'batch' })).body.secret as string;
    const jsonl = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({ custom_id: `line-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `line ${i}` }] } }),
    ).join('\n');
    const form = new FormData();
    form.append('file', new Blob([jsonl], { type: 'application/jsonl' }), 'input.jsonl');
    form.append('purpose', 'batch');
    const file = await (await fetch(`${a!.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })).json();
    const v1 = async (node: (typeof cluster.nodes)[0], method: string, p: string, body?: unknown) => {
      const res = await fetch(node.url + p, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return res.json() as Promise<any>;
    };
    const batch = await v1(a!, 'POST', '/v1/batches', { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(batch.status, JSON.stringify(batch)).toBe('validating');

    // The node holding the lease runs the batch: its owner names its process.
    const db = new pg.Client({ connectionString: cluster.env.WARBLER_DATABASE_URL });
    await db.connect();
    let runner: (typeof cluster.nodes)[0] | undefined;
    try {
      for (let i = 0; i < 200 && !runner; i++) {
        const { rows } = await db.query<{ owner: string }>('select owner from leases where name like $1', [`%${batch.id}`]);
        const pid = Number(rows[0]?.owner.split('/')[1]);
        runner = cluster.nodes.find((n) => n.process.pid === pid);
        if (!runner) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await db.end();
    }
    expect(runner).toBeDefined();
    const survivor = cluster.nodes.find((n) => n !== runner)!;
    // Kill it once some lines are recorded and others are in flight.
    for (let i = 0; i < 200; i++) {
      const seen = await v1(survivor, 'GET', `/v1/batches/${batch.id}`);
      if (seen.request_counts.completed >= 8) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const callsAtKill = upstream.counts.chat;
    await runner!.kill('SIGKILL');
    expect(callsAtKill).toBeLessThan(LINES);

    let done: any;
    for (let i = 0; i < 300; i++) {
      done = await v1(survivor, 'GET', `/v1/batches/${batch.id}`);
      if (done.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: LINES, completed: LINES, failed: 0 } });
    const output = await (await fetch(`${survivor.url}/v1/files/${done.output_file_id}/content`, { headers: { authorization: `Bearer ${key}` } })).text();
    const ids = output.trim().split('\n').map((l) => JSON.parse(l).custom_id as string);
    expect(ids.sort()).toEqual(Array.from({ length: LINES }, (_, i) => `line-${i}`).sort());
    // Only lines in flight on the dead node (at most PER_BATCH) went upstream twice.
    expect(upstream.counts.chat).toBeGreaterThanOrEqual(LINES);
    expect(upstream.counts.chat).toBeLessThanOrEqual(LINES + PER_BATCH);
  }, 50_000);
});
