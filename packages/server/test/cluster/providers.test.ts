// A provider added in the console on one node is served by every node at
// once (the broker's providers_changed signal), with the key it was given;
// removed on one node, it is gone on all. Real processes, PostgreSQL and Redis.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterAvailable, startCluster, type Cluster } from './nodes.ts';

const KEY = 'sk-cluster-console-key-9a9a';

describe.skipIf(!clusterAvailable())('providers added in the console across nodes', () => {
  let cluster: Cluster;
  let upstream: UpstreamFixture;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: KEY, defaults: { intervalMs: 0 } });
    const config = path.join(tmpdir(), `warbler-cluster-providers-${process.pid}.yaml`);
    await writeFile(config, 'outbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }\n');
    cluster = await startCluster(2, { WARBLER_CONFIG: config });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    await upstream?.close();
  });

  const servedOn = async (node: Cluster['nodes'][0], key: string) =>
    ((await cluster.api(node, 'GET', '/v1/models', undefined, key)).body.data as Array<{ id: string }>).map((m) => m.id);

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('is served by the other node without a restart, and removed there too', async () => {
    const [a, b] = cluster.nodes;
    const key = (await cluster.api(a!, 'POST', '/api/gateway/keys', { name: 'cluster' })).body.secret as string;
    expect(await servedOn(b!, key)).not.toContain('fixture-chat');
    const created = await cluster.api(a!, 'POST', '/api/providers', {
      id: 'fixture', kind: 'openai-compatible', base_url: upstream.url, api_key: KEY, models: [{ name: 'fixture-chat', upstream: 'gpt-4o-mini' }],
    }, cluster.masterKey);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await until('node B to route fixture-chat', async () => (await servedOn(b!, key)).includes('fixture-chat'));
    upstream.script({ text: 'Answered on node B.' });
    const done = await cluster.api(b!, 'POST', '/v1/chat/completions', { model: 'fixture-chat', messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.choices[0].message.content).toBe('Answered on node B.');
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);

    expect((await cluster.api(a!, 'DELETE', '/api/providers/fixture', undefined, cluster.masterKey)).status).toBe(204);
    await until('node B to drop fixture-chat', async () => !(await servedOn(b!, key)).includes('fixture-chat'));
  });
});
