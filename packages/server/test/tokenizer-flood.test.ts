// Found by the fuzz suite (test/fuzz/v1.fuzz.test.ts): counting the tokens of
// a long run without whitespace is quadratic in the tokenizer, so one /v1
// prompt of "zzzz…" held the event loop for minutes and every tenant with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('a prompt that is one long word on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(async () => server?.stop());

  it('is counted without stalling the server: the prompt is answered and another caller is served meanwhile', async () => {
    // A TPM limit makes the gateway count the prompt before admitting it.
    const key = await server.api('POST', '/api/gateway/keys', { name: 'flood', tpm: 10_000_000 });
    expect(key.status).toBe(201);
    const started = performance.now();
    const flood = fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.body.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local/kb-answer', messages: [{ role: 'user', content: 'z'.repeat(200_000) }] }),
    });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const answer = await flood;
    expect(answer.status).toBeLessThan(500);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
