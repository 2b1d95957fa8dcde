import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const KEY = 'sk-console-provider-key-7f3a';

describe.each(storeKinds())('providers added in the console on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: KEY, defaults: { intervalMs: 1 } });
    const configPath = path.join(tmpdir(), `warbler-providers-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'providers:',
      '  corp-proxy:',
      '    base_url: https://llm.corp.example/v1',
      '    api_key: ${CORP_KEY}',
      '    models: [corp-model]',
      // The fixture is on loopback over http, which providers (like agent tools) may only call when the operator allows it.
      'outbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }',
      '',
    ].join('\n'));
    server = await startServer(kind, { WARBLER_CONFIG: configPath, CORP_KEY: 'sk-file-key-abcdefgh9999', DEEPSEEK_API_KEY: 'sk-env-key-deepseek-5555' });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  // As the console calls: the master key, acting in one app (so the app's audit trail shows it).
  const op = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(server.url + p, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: `Bearer ${server.masterKey}`, 'x-warbler-app': 'default', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it('adds a provider at run time: its key is sealed, never shown back, and its models answer at once', async () => {
    const created = await op('POST', '/api/providers', {
      id: 'fixture', kind: 'openai-compatible', base_url: upstream.url, api_key: KEY,
      models: [{ name: 'fixture-chat', upstream: 'gpt-4o-mini', input_per_million: 1, output_per_million: 2 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ id: 'fixture', api_key: '••••7f3a', source: 'console' });
    const list = await op('GET', '/api/providers');
    expect(JSON.stringify(list.body)).not.toContain(KEY);
    expect(list.body.providers.map((p: any) => [p.id, p.source, p.api_key])).toEqual([
      ['fixture', 'console', '••••7f3a'], ['corp-proxy', 'file', '••••9999'], ['deepseek', 'env', '••••5555'],
    ]);
    const row = await server.warbler.store.roomTables().selectFrom('console_providers').selectAll().executeTakeFirstOrThrow();
    expect(row.sealed_key).toMatch(/^wsb1\./);
    expect(JSON.stringify(row)).not.toContain(KEY);

    // The router serves it without a restart: an agent and /v1 use it, with the key it was given.
    expect((await server.api('GET', '/api/models')).body.models.map((m: any) => m.id ?? m.name ?? m)).toEqual(expect.arrayContaining(['fixture-chat']));
    const agent = await server.api('POST', '/api/agents', { name: 'Console model agent', model: 'fixture-chat', system_prompt: 'Be brief.' });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const key = await server.api('POST', '/api/gateway/keys', { name: 'p' });
    upstream.script({ text: 'Hello from the console provider.', usage: { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 } });
    const done = await server.api('POST', '/v1/chat/completions', { model: 'fixture-chat', messages: [{ role: 'user', content: 'hi' }] }, key.body.secret);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.choices[0].message.content).toBe('Hello from the console provider.');
    const call = upstream.requests.at(-1)!;
    expect(call.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call.body.model).toBe('gpt-4o-mini');
    // Billed at the prices entered with it: 1M in × 1 + 1M out × 2 = 3 USD.
    await server.warbler.ledger.flush();
    const rows = await server.warbler.store.listLedger('default', { key_id: key.body.key.id, limit: 5 });
    expect(rows[0]).toMatchObject({ cost_nanos: 3_000_000_000n, currency: 'USD' });

    const test = await op('POST', '/api/providers/fixture/test', {});
    expect(test.body).toMatchObject({ ok: true, model: 'fixture-chat' });
    const trail = (await server.api('GET', '/api/audit?resource=provider')).body.entries;
    expect(trail.map((e: any) => e.action)).toEqual(['provider.test', 'provider.create']);
    expect(trail[1]).toMatchObject({ actor: { kind: 'master_key' }, resource_id: 'fixture', after: { api_key: '••••7f3a' } });
    expect(JSON.stringify(trail)).not.toContain(KEY);
  });

  it('edits, tests a wrong key, and removes a provider; configured providers stay read-only', async () => {
    const edited = await op('PATCH', '/api/providers/fixture', { api_key: 'sk-wrong-key-00000000' });
    expect(edited.body.api_key).toBe('••••0000');
    const test = await op('POST', '/api/providers/fixture/test', {});
    expect(test.body.ok).toBe(false);
    expect(test.body.message).toMatch(/401.*Incorrect API key/);
    const trail = (await server.api('GET', '/api/audit?action=provider.update')).body.entries[0];
    expect(trail).toMatchObject({ before: { api_key: '••••7f3a' }, after: { api_key: '••••0000' } });

    expect((await op('PATCH', '/api/providers/corp-proxy', { models: [{ name: 'x' }] })).status).toBe(403);
    expect((await op('DELETE', '/api/providers/deepseek')).status).toBe(403);
    expect((await op('POST', '/api/providers', { id: 'corp-proxy', kind: 'openai', models: [{ name: 'y' }] })).status).toBe(409);
    expect((await op('DELETE', '/api/providers/fixture')).status).toBe(204);
    expect((await server.api('GET', '/api/models')).body.models.map((m: any) => m.id ?? m.name ?? m)).not.toContain('fixture-chat');
    const key = await server.api('POST', '/api/gateway/keys', { name: 'q' });
    const gone = await server.api('POST', '/v1/chat/completions', { model: 'fixture-chat', messages: [{ role: 'user', content: 'hi' }] }, key.body.secret);
    expect(gone.status).toBe(404);
  });

  it('refuses addresses the outbound policy refuses, hostile input, and anyone but the operator', async () => {
    for (const base_url of ['http://169.254.169.254/latest', 'https://localhost:8443/v1', 'http://10.0.0.5/v1', 'file:///etc/passwd']) {
      const res = await op('POST', '/api/providers', { id: 'bad', kind: 'openai-compatible', base_url, api_key: 'k', models: [{ name: 'm' }] });
      expect(res.status, base_url).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    expect((await op('POST', '/api/providers', { id: 'x', kind: 'openai-compatible', models: [{ name: 'm' }] })).body.error.message).toMatch(/base URL/);
    expect((await op('POST', '/api/providers', { id: 'Bad Id', kind: 'openai', models: [{ name: 'm' }] })).status).toBe(400);
    expect((await op('POST', '/api/providers', { id: 'dup', kind: 'openai', models: [{ name: 'm' }, { name: 'm' }] })).status).toBe(400);
    expect((await server.api('GET', '/api/providers')).status).toBe(403);
    expect((await server.api('POST', '/api/providers', { id: 'y', kind: 'openai', models: [{ name: 'm' }] })).status).toBe(403);
    expect((await op('GET', '/api/providers')).body.providers.map((p: any) => p.id)).toEqual(['corp-proxy', 'deepseek']);
    // Without an app named, the operator's change lands in the installation chain.
    const bare = await server.api('POST', '/api/providers', { id: 'bare', kind: 'deepseek', api_key: 'sk-bare-key-12345678', models: [{ name: 'bare-chat' }] }, server.masterKey);
    expect(bare.status).toBe(201);
    const installation = await server.api('GET', '/admin/audit', undefined, server.masterKey);
    expect(installation.body.entries[0]).toMatchObject({ app_id: '*', action: 'provider.create', resource_id: 'bare', after: { api_key: '••••5678' } });
    expect((await server.api('GET', '/admin/audit/verify', undefined, server.masterKey)).body).toMatchObject({ ok: true, entries: 1 });
    expect((await server.api('GET', '/admin/audit')).status).toBe(403);
    expect((await op('DELETE', '/api/providers/bare')).status).toBe(204);
  });
});
