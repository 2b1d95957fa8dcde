// Key limits under a burst: a key's TPM reserves the prompt and the output a
// request may produce, so 50 concurrent requests cannot use more than the
// minute's allowance plus one request; a request that alone exceeds the TPM is
// refused; and a budget counts the worst case of calls still in flight.
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('key limits under a burst on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture', defaults: { intervalMs: 0 } });
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function newKey(fields: Record<string, unknown>) {
    const res = await server.api('POST', '/api/gateway/keys', { name: `burst ${Math.random().toString(36).slice(2, 7)}`, ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.key.id as string, secret: res.body.secret as string };
  }

  function chat(secret: string, body: Record<string, unknown>) {
    return fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count to ten' }], ...body }),
    }).then(async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any }));
  }

  async function burst(secret: string, body: Record<string, unknown>) {
    const answers = await Promise.all(Array.from({ length: 50 }, () => chat(secret, body)));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok.length + refused.length).toBe(50);
    for (const r of refused) expect(r.body.error.code).toBe('rate_limit_exceeded');
    const used = ok.reduce((n, a) => n + (a.body.usage.total_tokens as number), 0);
    const largest = Math.max(0, ...ok.map((a) => a.body.usage.total_tokens as number));
    return { ok: ok.length, refused: refused.length, used, largest };
  }

  it('50 concurrent requests with max_tokens on a 2,000-TPM key use at most the TPM plus one request', async () => {
    const key = await newKey({ tpm: 2000 });
    upstream.script({ text: 'one two three', usage: { prompt_tokens: 20, completion_tokens: 100 }, times: 50 });
    const r = await burst(key.secret, { max_tokens: 100 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
    expect(r.used).toBeLessThanOrEqual(2000 + r.largest);
  });

  it('50 concurrent requests without max_tokens reserve the default output, and still hold the TPM', async () => {
    const key = await newKey({ tpm: 2000 });
    upstream.script({ text: 'one two three', usage: { prompt_tokens: 20, completion_tokens: 100 }, times: 50 });
    const r = await burst(key.secret, {});
    expect(r.ok).toBeGreaterThan(0);
    expect(r.used).toBeLessThanOrEqual(2000 + r.largest);
  });

  it('refuses a request whose own prompt and max_tokens exceed the key\'s TPM, saying what to lower, without calling upstream', async () => {
    const key = await newKey({ tpm: 2000 });
    const before = upstream.counts.chat;
    const r = await chat(key.secret, { max_tokens: 100_000 });
    expect(r.status).toBe(429);
    expect(r.body.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded', param: 'max_tokens' });
    expect(r.body.error.message).toMatch(/Lower max_tokens to \d+ or less/);
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(upstream.counts.chat).toBe(before);
    // The same request with a max_tokens that fits goes through.
    expect((await chat(key.secret, { max_tokens: 500 })).status).toBe(200);
  });

  it('a budget counts the worst case of a call in flight, and the settled cost once it ends', async () => {
    // 5,000 output tokens at $0.60/1M is $0.003: one call in flight holds more than the whole budget.
    const key = await newKey({ monthly_budget_usd: 0.002 });
    upstream.script({ promptContains: 'slow', text: 'done', ttftMs: 1500, usage: { prompt_tokens: 10, completion_tokens: 2 } });
    const base = upstream.counts.chat;
    const slow = chat(key.secret, { max_tokens: 5000, messages: [{ role: 'user', content: 'slow one' }] });
    // The fixture has no event for a request received; its count moves when the call is upstream.
    while (upstream.counts.chat === base) await new Promise((r) => setTimeout(r, 10));
    const during = await chat(key.secret, { max_tokens: 10 });
    expect(during.status).toBe(429);
    expect(during.body.error.code).toBe('insufficient_quota');
    expect((await slow).status).toBe(200);
    // Settled at 12 tokens, the key has room again.
    expect((await chat(key.secret, { max_tokens: 10 })).status).toBe(200);
  });
});
