// The per-key answer cache over real sockets: opt-in, deterministic requests
// only, a hit answered without upstream and recorded at zero cost.
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('answer cache on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function newKey(metadata: Record<string, unknown>) {
    const res = await server.api('POST', '/api/gateway/keys', { name: 'cached', metadata, tpm: 100_000 });
    return { id: res.body.key.id as string, client: new OpenAI({ apiKey: res.body.secret, baseURL: `${server.url}/v1`, maxRetries: 0 }) };
  }
  const upstreamCalls = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').length;

  it('a key that opted in gets the same answer again without an upstream call, billed at zero, with x-warbler-cache', async () => {
    const { id, client } = await newKey({ cache_ttl_seconds: 60 });
    upstream.script({ text: 'forty-two', usage: { prompt_tokens: 10, completion_tokens: 2 }, times: 5 });
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'The answer?' }], temperature: 0 };
    const first = await client.chat.completions.create(ask).withResponse();
    const second = await client.chat.completions.create(ask).withResponse();
    expect(first.response.headers.get('x-warbler-cache')).toBe('miss');
    expect(second.response.headers.get('x-warbler-cache')).toBe('hit');
    expect(second.data).toEqual(first.data);
    expect(upstreamCalls()).toBe(1);
    // The Responses API runs on the same path, so it is cached too.
    await client.responses.create({ model: 'gpt-4o-mini', input: 'Again?', temperature: 0 });
    await client.responses.create({ model: 'gpt-4o-mini', input: 'Again?', temperature: 0 });
    expect(upstreamCalls()).toBe(2);

    await server.warbler.ledger.flush();
    const rows = await server.warbler.store.listLedger('default', { key_id: id, limit: 10 });
    expect(rows.filter((r) => r.outcome === 'cache_hit').map((r) => r.cost_nanos)).toEqual([0n, 0n]);
    expect(rows.filter((r) => r.outcome === 'ok')).toHaveLength(2);
  });

  it('no cache for other keys, other requests, or requests that are not deterministic', async () => {
    const { client } = await newKey({ cache_ttl_seconds: 60 });
    const other = (await newKey({})).client;
    upstream.script({ text: 'x', times: 10 });
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Roll a die' }] };
    await client.chat.completions.create(ask);
    await client.chat.completions.create(ask);
    expect(upstreamCalls()).toBe(2);
    await other.chat.completions.create({ ...ask, temperature: 0 });
    await other.chat.completions.create({ ...ask, temperature: 0 });
    expect(upstreamCalls()).toBe(4);
    await client.chat.completions.create({ ...ask, temperature: 0 });
    await client.chat.completions.create({ ...ask, temperature: 0, max_tokens: 9 });
    expect(upstreamCalls()).toBe(6);
  });
});
