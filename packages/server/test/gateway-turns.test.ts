// One gateway key may have only so many /v1 calls running at once (issue 10,
// noisy neighbours): more wait for a turn, then get a 429 that says what to
// do, while another tenant's key is served at once.
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('calls running at once per gateway key on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '2' });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  async function keyOf(secret?: string): Promise<string> {
    const res = await server.api('POST', '/api/gateway/keys', { name: 'turns' }, secret);
    expect(res.status).toBe(201);
    return res.body.secret as string;
  }

  const ask = async (key: string, content: string, stream = false) => {
    const t = performance.now();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...(stream ? { stream: true } : {}) }),
    });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - t };
  };

  it('a call over the cap waits for a turn and is answered when one ends; another tenant never waits', async () => {
    const key = await keyOf();
    const other = await keyOf((await server.api('POST', '/admin/apps', { name: 'Other' }, server.masterKey)).body.secret);
    upstream.script({ promptContains: 'hold', ttftMs: 1_000, times: 2 });
    const held = [ask(key, 'hold 1', true), ask(key, 'hold 2')];
    await new Promise((r) => setTimeout(r, 200));
    const third = ask(key, 'third');
    const otherTenant = await ask(other, 'other tenant');
    expect(otherTenant.status).toBe(200);
    expect(otherTenant.ms).toBeLessThan(500);
    const answered = await third;
    expect(answered.status, answered.text).toBe(200);
    // It could only start once a held call had ended.
    expect(answered.ms).toBeGreaterThan(600);
    for (const h of await Promise.all(held)) expect(h.status).toBe(200);
  });

  it('a call that gets no turn within 2 s is a 429 saying what to do, and nothing reached upstream for it', async () => {
    const key = await keyOf();
    upstream.script({ promptContains: 'long hold', ttftMs: 3_500, times: 2 });
    const held = [ask(key, 'long hold 1', true), ask(key, 'long hold 2')];
    await new Promise((r) => setTimeout(r, 200));
    const chatsBefore = upstream.counts.chat;
    const refused = await ask(key, 'no turn');
    expect(refused.status).toBe(429);
    expect(refused.ms).toBeGreaterThan(1_900);
    const body = JSON.parse(refused.text) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(body.error.message).toMatch(/at most 2 run at the same time.*WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY/);
    expect(upstream.counts.chat).toBe(chatsBefore);
    for (const h of await Promise.all(held)) expect(h.status).toBe(200);
    // Both turns are free again.
    expect((await ask(key, 'after')).status).toBe(200);
  });
});
