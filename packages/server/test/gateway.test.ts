import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { embedText, startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { costOf, seedPriceTable } from '../src/llm/index.ts';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prices = seedPriceTable();

describe.each(storeKinds())('OpenAI-compatible gateway on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let v1: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-gateway-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  text-embedding-3-small:',
      '    deployments: [openai/text-embedding-3-small]',
      // Faults are scripted for this model only, so the circuit of gpt-4o-mini stays closed.
      '  flaky:',
      '    deployments: [openai/flaky-model]',
      'router:',
      '  retry: { max_retries: 1, base_delay_ms: 5, max_delay_ms: 10 }',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    v1 = `${server.url}/v1`;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function newKey(fields: Record<string, unknown> = {}) {
    const res = await server.api('POST', '/api/gateway/keys', { name: `key ${Math.random().toString(36).slice(2, 7)}`, ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.key.id as string, secret: res.body.secret as string, view: res.body.key };
  }

  const client = (apiKey: string, headers: Record<string, string> = {}) => new OpenAI({ apiKey, baseURL: v1, maxRetries: 0, defaultHeaders: headers });

  async function rows(filter: { key_id?: string } = {}, appId = 'default'): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger(appId, { ...filter, limit: 100 });
  }

  async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > until) return v;
      await sleep(20);
    }
  }

  describe('virtual keys (admin API)', () => {
    it('creates a key whose secret is shown once and stored hashed; lists, reads, updates and revokes it', async () => {
      const created = await newKey({ allowed_models: ['gpt-4o-mini'], rpm: 10, tpm: 1000, monthly_budget_usd: 5, metadata: { team: 'search' } });
      expect(created.secret).toMatch(/^wk-[A-Za-z0-9_-]{40,}$/);
      expect(created.view).toMatchObject({ prefix: created.secret.slice(0, 10), allowed_models: ['gpt-4o-mini'], rpm: 10, tpm: 1000, monthly_budget_usd: 5, metadata: { team: 'search' }, revoked_at: null });
      expect(JSON.stringify(created.view)).not.toContain(created.secret);
      const row = await server.warbler.store.getApiKey('default', created.id);
      expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row?.key_hash).not.toContain(created.secret.slice(3));

      const list = await server.api('GET', '/api/gateway/keys');
      expect(list.body.keys.map((k: { id: string }) => k.id)).toContain(created.id);
      expect(JSON.stringify(list.body)).not.toContain('key_hash');

      const got = await server.api('GET', `/api/gateway/keys/${created.id}`);
      expect(got.body).toMatchObject({ id: created.id, spent_usd: 0 });

      const patched = await server.api('PATCH', `/api/gateway/keys/${created.id}`, { rpm: null, allowed_models: null, name: 'renamed' });
      expect(patched.body).toMatchObject({ name: 'renamed', rpm: null, allowed_models: null, tpm: 1000 });

      // The master key with X-Warbler-App manages the same keys (how the console calls).
      const viaMaster = await fetch(`${server.url}/api/gateway/keys/${created.id}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.masterKey}`, 'x-warbler-app': 'default' },
      });
      expect(viaMaster.status).toBe(200);
      expect((await viaMaster.json()).revoked_at).toBeTypeOf('number');

      const bad = await server.api('POST', '/api/gateway/keys', { name: 'x', rpm: -1 });
      expect(bad.status).toBe(400);
      // A budget beyond any real spend is refused with the field named, not stored to overflow later.
      const huge = await server.api('PATCH', `/api/gateway/keys/${created.id}`, { monthly_budget_usd: 1e300 });
      expect(huge.status).toBe(400);
      expect(JSON.stringify(huge.body)).toContain('monthly_budget_usd');
      expect((await server.api('GET', `/api/gateway/keys/${created.id}`)).body.monthly_budget_usd).toBe(5);
      const hugeAgent = await server.api('POST', '/api/agents', { name: 'Spender', model: 'local/kb-answer', monthly_budget_usd: 1e300 });
      expect(hugeAgent.status).toBe(400);
      const userToken = (await server.user('Eve')).token;
      expect((await server.api('GET', '/api/gateway/keys', undefined, userToken)).status).toBe(403);
    });
  });

  describe('chat completions', () => {
    it('answers a plain completion with OpenAI\'s shape and Warbler\'s headers', async () => {
      const key = await newKey({ rpm: 100, tpm: 100_000 });
      upstream.script({ text: 'Hello from the fixture.', usage: { prompt_tokens: 12, completion_tokens: 5 } });
      const { data, response } = await client(key.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
      expect(data.object).toBe('chat.completion');
      expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello from the fixture.' });
      expect(data.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(response.headers.get('x-warbler-deployment')).toBe('openai/gpt-4o-mini');
      const overhead = Number(response.headers.get('x-warbler-overhead-ms'));
      expect(overhead).toBeGreaterThanOrEqual(0);
      expect(overhead).toBeLessThan(1000);
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('100');
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('99');
      expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s)$/);
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
      expect(response.headers.get('x-ratelimit-remaining-tokens')).toMatch(/^\d+$/);
      expect(response.headers.get('x-ratelimit-reset-tokens')).toBeTruthy();
      // The client's body reached upstream, and the gateway asked for no stream.
      const sent = upstream.requests.find((r) => r.path === '/v1/chat/completions')!;
      expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: false });
    });

    it('streams like OpenAI: text assembled, usage chunk only when asked, [DONE] last; usage is always asked upstream', async () => {
      const key = await newKey();
      const openai = client(key.secret);

      upstream.script({ text: 'One two three four.', usage: { prompt_tokens: 9, completion_tokens: 4 } });
      const plain = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count' }], stream: true }).withResponse();
      expect(plain.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(plain.response.headers.get('x-warbler-deployment')).toBe('openai/gpt-4o-mini');
      expect(Number(plain.response.headers.get('x-warbler-overhead-ms'))).toBeGreaterThanOrEqual(0);
      let text = '';
      const chunks = [];
      for await (const chunk of plain.data) {
        chunks.push(chunk);
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe('One two three four.');
      expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant' });
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.every((c) => c.usage == null)).toBe(true);
      expect(upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });

      upstream.script({ text: 'Five six.', usage: { prompt_tokens: 9, completion_tokens: 3, cached_tokens: 4 } });
      const withUsage = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count' }], stream: true, stream_options: { include_usage: true } });
      const got = [];
      for await (const chunk of withUsage) got.push(chunk);
      const last = got.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 4 } });
      expect(got.slice(0, -1).every((c) => c.usage === null)).toBe(true);

      // On the wire: data lines, then [DONE].
      upstream.script({ text: 'Raw.' });
      const raw = await fetch(`${v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      const body = await raw.text();
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(body.split('\n\n').filter(Boolean).every((l) => l.startsWith('data: '))).toBe(true);
      expect(raw.headers.get('x-request-id')).toBeTruthy();
    });

    it('passes tools, tool_choice and a json_schema response_format through, and relays tool calls (plain and streamed)', async () => {
      const key = await newKey();
      const openai = client(key.secret);
      const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
      const args = '{"city":"Paris","unit":"c"}';

      upstream.script({ toolCalls: [{ id: 'call_abc', name: 'get_weather', arguments: args }] });
      const plain = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Weather?' }], tools, tool_choice: 'required' });
      expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
      expect(plain.choices[0]?.message.tool_calls).toEqual([{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: args } }]);
      expect(upstream.requests.at(-1)?.body).toMatchObject({ tools, tool_choice: 'required' });

      upstream.script({ toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: args }, { id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' }] });
      const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true });
      const calls: Array<{ id?: string; name?: string; args: string }> = [];
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
          calls[d.index] ??= { args: '' };
          if (d.id) calls[d.index]!.id = d.id;
          if (d.function?.name) calls[d.index]!.name = d.function.name;
          calls[d.index]!.args += d.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(calls).toEqual([{ id: 'call_1', name: 'get_weather', args }, { id: 'call_2', name: 'get_weather', args: '{"city":"Rome"}' }]);
      expect(finish).toBe('tool_calls');

      const format = { type: 'json_schema' as const, json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'number' } }, required: ['a'], additionalProperties: false } } };
      upstream.script({ text: '{"a":1}' });
      const structured = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'json' }], response_format: format, temperature: 0.2, seed: 7 });
      expect(JSON.parse(structured.choices[0]?.message.content ?? '')).toEqual({ a: 1 });
      expect(upstream.requests.at(-1)?.body).toMatchObject({ response_format: format, temperature: 0.2, seed: 7 });
    });

    it('sends text and image content parts upstream as they are', async () => {
      const key = await newKey();
      upstream.script({ text: 'A cat.' });
      const content = [
        { type: 'text' as const, text: 'What is this?' },
        { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' as const } },
        { type: 'image_url' as const, image_url: { url: 'https://example.com/cat.jpg' } },
      ];
      const res = await client(key.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
      expect(res.choices[0]?.message.content).toBe('A cat.');
      expect(upstream.requests.at(-1)?.body.messages).toEqual([{ role: 'user', content }]);
    });
  });

  describe('embeddings', () => {
    it('returns vectors in base64 (the SDK default) and as floats, and meters them', async () => {
      const key = await newKey();
      const openai = client(key.secret);
      const res = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'second'], dimensions: 8 });
      expect(res.data).toHaveLength(2);
      const expected = embedText('hello world', 8);
      res.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
      expect(res.usage.prompt_tokens).toBeGreaterThan(0);

      const floats = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', dimensions: 8, encoding_format: 'float' });
      expect(floats.data[0]!.embedding).toEqual(expected);

      const ledger = await rows({ key_id: key.id });
      expect(ledger).toHaveLength(2);
      expect(ledger.every((r) => r.model === 'text-embedding-3-small' && r.completion_tokens === 0 && r.outcome === 'ok')).toBe(true);
    });
  });

  describe('errors in OpenAI\'s shape, raised as the SDK\'s exception classes', () => {
    it('401 AuthenticationError for a missing, unknown, revoked or expired key', async () => {
      await expect(client('wk-thisisnotakeyatallreally0123456789').models.list()).rejects.toBeInstanceOf(AuthenticationError);
      await expect(client('sk-something-else').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(AuthenticationError);
      const missing = await fetch(`${v1}/models`);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });

      const key = await newKey();
      await expect(client(key.secret).models.list()).resolves.toBeDefined();
      await server.api('DELETE', `/api/gateway/keys/${key.id}`);
      const revoked = await client(key.secret).models.list().catch((e: unknown) => e);
      expect(revoked).toBeInstanceOf(AuthenticationError);
      expect((revoked as AuthenticationError).message).toMatch(/revoked/);

      const expired = await newKey({ expires_at: Date.now() - 1000 });
      const e = await client(expired.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(AuthenticationError);
      expect((e as AuthenticationError).message).toMatch(/expired/);
      // Extending it brings it back at once.
      await server.api('PATCH', `/api/gateway/keys/${expired.id}`, { expires_at: Date.now() + 60_000 });
      await expect(client(expired.secret).models.list()).resolves.toBeDefined();
    });

    it('403 PermissionDeniedError for a model the key may not use; /v1/models lists only what it may', async () => {
      const key = await newKey({ allowed_models: ['gpt-4o-mini', 'text-embedding-3-small'] });
      const openai = client(key.secret);
      const models = await openai.models.list();
      expect(models.data.map((m) => m.id).sort()).toEqual(['gpt-4o-mini', 'text-embedding-3-small']);
      expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'warbler' });
      await expect(openai.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(NotFoundError);
      expect((await openai.models.retrieve('gpt-4o-mini')).id).toBe('gpt-4o-mini');
      const err = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect((err as PermissionDeniedError).code).toBe('model_not_allowed');
      await expect(openai.embeddings.create({ model: 'flaky', input: 'x' })).rejects.toBeInstanceOf(PermissionDeniedError);
      // The unrestricted master key sees every routed model.
      const all = await client(server.masterKey).models.list();
      expect(all.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'flaky', 'local/kb-answer']));
    });

    it('404 NotFoundError for an unknown model; 400 BadRequestError for a bad body', async () => {
      const key = await newKey();
      const openai = client(key.secret);
      const nf = await openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(nf).toBeInstanceOf(NotFoundError);
      expect((nf as NotFoundError).code).toBe('model_not_found');

      const bad = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(BadRequestError);
      expect((bad as BadRequestError).param).toBe('messages');
      const role = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'x' } as never] }).catch((e: unknown) => e);
      expect((role as BadRequestError).param).toBe('messages[0].role');
      const format = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema' } as never }).catch((e: unknown) => e);
      expect((format as BadRequestError).param).toBe('response_format.json_schema.name');
      const options = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }).catch((e: unknown) => e);
      expect(options).toBeInstanceOf(BadRequestError);

      const notJson = await fetch(`${v1}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' }, body: '{"model":' });
      expect(notJson.status).toBe(400);
      expect((await notJson.json()).error.type).toBe('invalid_request_error');
      // Nothing reached upstream, nothing was billed.
      expect(upstream.counts.chat).toBeGreaterThanOrEqual(0);
      expect(await rows({ key_id: key.id })).toEqual([]);
    });

    it('maps upstream failures: 5xx → InternalServerError (after retries), upstream 400 → BadRequestError, each attempt in the ledger', async () => {
      const key = await newKey();
      const openai = client(key.secret);
      upstream.script({ model: 'flaky-model', fault: 'status', status: 500, times: 2 });
      const err = await openai.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InternalServerError);
      expect((err as APIError).status).toBe(502);
      expect((err as APIError).error).toMatchObject({ type: 'server_error' });
      const failed = await rows({ key_id: key.id });
      expect(failed.map((r) => [r.attempt, r.outcome, r.deployment, r.prompt_tokens, r.cost_nanos]).sort()).toEqual([
        [1, 'error', 'openai/flaky-model', 0, 0n],
        [2, 'error', 'openai/flaky-model', 0, 0n],
      ]);

      upstream.script({ model: 'flaky-model', fault: 'status', status: 400, message: 'Unsupported parameter: foo' });
      const bad = await openai.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(BadRequestError);
      expect((bad as BadRequestError).message).toMatch(/Unsupported parameter/);

      // A stream that fails before its first byte is an HTTP error too.
      upstream.script({ model: 'flaky-model', fault: 'status', status: 503, times: 2 });
      const streamed = await openai.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }], stream: true }).catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(InternalServerError);

      // One that breaks after its first byte ends with an error event the SDK raises.
      upstream.script({ model: 'flaky-model', fault: 'cut', afterChunks: 2, text: 'partial answer here' });
      const cut = await openai.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }], stream: true });
      let seen = '';
      const thrown = await (async () => {
        for await (const c of cut) seen += c.choices[0]?.delta.content ?? '';
      })().catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(APIError);
      expect(seen.length).toBeGreaterThan(0);
      const cutRow = (await rows({ key_id: key.id })).find((r) => r.outcome === 'cut');
      expect(cutRow).toMatchObject({ estimated: true });
    });
  });

  describe('limits and budgets', () => {
    it('RPM: the request past the limit is a RateLimitError with OpenAI\'s headers', async () => {
      const key = await newKey({ rpm: 2 });
      const openai = client(key.secret);
      const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }] }).withResponse();
      expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'b' }] });
      const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'c' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      const e = err as RateLimitError;
      expect(e.code).toBe('rate_limit_exceeded');
      expect(e.headers?.get('x-ratelimit-limit-requests')).toBe('2');
      expect(e.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(e.headers?.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s)$|^\d+m\d+s$/);
      expect(Number(e.headers?.get('retry-after-ms'))).toBeGreaterThan(0);
      // Embeddings are held to the same limit.
      await expect(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toBeInstanceOf(RateLimitError);
      expect(await rows({ key_id: key.id })).toHaveLength(2);
    });

    it('TPM: prompts are counted up front, then settled with the usage upstream reported', async () => {
      const key = await newKey({ tpm: 200 });
      const openai = client(key.secret);
      const tooBig = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'word '.repeat(300) }] }).catch((e: unknown) => e);
      expect(tooBig).toBeInstanceOf(RateLimitError);
      expect((tooBig as RateLimitError).message).toMatch(/too large/i);
      expect((tooBig as RateLimitError).headers?.get('x-ratelimit-limit-tokens')).toBe('200');

      // The reply's real usage (190 tokens) leaves too little for the next prompt. max_tokens bounds what is reserved for the answer.
      upstream.script({ text: 'long answer', usage: { prompt_tokens: 10, completion_tokens: 180 } });
      const ok = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }).withResponse();
      expect(Number(ok.response.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(150);
      const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there my good friend, how are you doing today?' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      const headers = (err as RateLimitError).headers!;
      expect(Number(headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(20);
      expect(headers.get('x-ratelimit-reset-tokens')).toBeTruthy();
    });

    it('a spent monthly budget is a 429 insufficient_quota that the SDK does not retry', async () => {
      const key = await newKey({ monthly_budget_usd: 0.01 });
      const openai = new OpenAI({ apiKey: key.secret, baseURL: v1, maxRetries: 3 });
      // 100,000 prompt tokens at $0.15/1M is $0.015: past the budget after this one call.
      upstream.script({ text: 'expensive', usage: { prompt_tokens: 100_000, completion_tokens: 10 } });
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      const chatsBefore = upstream.counts.chat;
      const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).code).toBe('insufficient_quota');
      expect((err as RateLimitError).message).toMatch(/monthly budget of \$0\.01/);
      await expect(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toBeInstanceOf(RateLimitError);
      expect(upstream.counts.chat).toBe(chatsBefore);
      const got = await server.api('GET', `/api/gateway/keys/${key.id}`);
      expect(got.body.spent_usd).toBeCloseTo(0.015006, 6);

      const zero = await newKey({ monthly_budget_usd: 0 });
      await expect(client(zero.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(RateLimitError);
    });
  });

  describe('metering', () => {
    it('writes one ledger row per request with exactly the usage upstream reported, cached and reasoning tokens included', async () => {
      const key = await newKey();
      const openai = client(key.secret);
      const usage = { prompt_tokens: 1234, completion_tokens: 321, cached_tokens: 1024, reasoning_tokens: 64 };
      upstream.script({ text: 'metered', usage });
      const plain = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      upstream.script({ text: 'metered stream', usage });
      const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }).withResponse();
      for await (const _ of stream.data) void _;

      const ledger = await waitFor(() => rows({ key_id: key.id }), (r) => r.length === 2);
      const price = prices.lookup('gpt-4o-mini')!;
      const cost = BigInt(costOf({ promptTokens: 1234, completionTokens: 321, cachedTokens: 1024 }, price).nanos);
      const ids = [plain.response.headers.get('x-request-id'), stream.response.headers.get('x-request-id')].sort();
      expect(ledger.map((r) => r.request_id).sort()).toEqual(ids);
      for (const r of ledger) {
        expect(r).toMatchObject({
          app_id: 'default', source: 'gateway', key_id: key.id, agent_id: null, model: 'gpt-4o-mini', deployment: 'openai/gpt-4o-mini',
          provider: 'openai', upstream_model: 'gpt-4o-mini', attempt: 1, prompt_tokens: 1234, cached_tokens: 1024, completion_tokens: 321,
          reasoning_tokens: 64, estimated: false, currency: 'USD', outcome: 'ok', error: null,
        });
        expect(r.cost_nanos).toBe(cost);
      }
    });

    it('the master key acts for the default app or the one in X-Warbler-App, unlimited, with no key in the ledger', async () => {
      const other = await server.warbler.apps.create('Other app');
      upstream.script({ text: 'for default', usage: { prompt_tokens: 3, completion_tokens: 2 } });
      const a = await client(server.masterKey).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      upstream.script({ text: 'for other', usage: { prompt_tokens: 3, completion_tokens: 2 } });
      const b = await client(server.masterKey, { 'x-warbler-app': other.app.id }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      expect(a.response.headers.get('x-ratelimit-limit-requests')).toBeNull();
      const inOther = await rows({}, other.app.id);
      expect(inOther).toHaveLength(1);
      expect(inOther[0]).toMatchObject({ key_id: null, source: 'gateway', request_id: b.response.headers.get('x-request-id') });
      expect((await rows({})).some((r) => r.request_id === a.response.headers.get('x-request-id') && r.key_id === null)).toBe(true);
      await expect(client(server.masterKey, { 'x-warbler-app': 'no-such-app' }).models.list()).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a client that disconnects mid-stream stops the upstream call; the row is billed for what was produced', async () => {
      const key = await newKey();
      upstream.script({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), intervalMs: 20 });
      const abort = new AbortController();
      const res = await fetch(`${v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'talk' }], stream: true }),
        signal: abort.signal,
      });
      const reader = res.body!.getReader();
      let received = '';
      while (!received.includes('w3')) received += new TextDecoder().decode((await reader.read()).value);
      abort.abort();
      // The row is there from the start ('pending'); wait for the call to settle it.
      const ledger = await waitFor(() => rows({ key_id: key.id }), (r) => r.length === 1 && r[0]!.outcome !== 'pending');
      expect(ledger).toHaveLength(1);
      expect(ledger[0]).toMatchObject({ outcome: 'stopped', estimated: true });
      expect(ledger[0]!.completion_tokens).toBeGreaterThan(0);
      expect(ledger[0]!.completion_tokens).toBeLessThan(200);
      expect(ledger[0]!.cost_nanos).toBeGreaterThan(0n);
    });

    it('a client that leaves before a non-streamed answer stops the upstream call, and the row says so', async () => {
      const key = await newKey();
      upstream.script({ promptContains: 'slow answer', text: 'too late', ttftMs: 5_000 });
      const chatsBefore = upstream.counts.chat;
      const abort = new AbortController();
      const sent = fetch(`${v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow answer please' }] }),
        signal: abort.signal,
      });
      // Upstream has the call ('pending' row written as it was sent); then the client goes.
      await waitFor(() => rows({ key_id: key.id }), (r) => r.length === 1 && upstream.counts.chat > chatsBefore);
      abort.abort();
      await expect(sent).rejects.toThrow();
      const ledger = await waitFor(() => rows({ key_id: key.id }), (r) => r.length === 1 && r[0]!.outcome !== 'pending');
      expect(ledger[0]).toMatchObject({ outcome: 'stopped', completion_tokens: 0 });
      expect(ledger[0]!.latency_ms).toBeLessThan(4_000);
    });

    it('runCompletion runs one body for a caller with the same checks (the Batch API uses it)', async () => {
      const key = await newKey({ allowed_models: ['gpt-4o-mini'] });
      const row = (await server.warbler.store.getApiKey('default', key.id))!;
      const caller = { appId: 'default', key: row, requestId: 'batch_req_1' };
      upstream.script({ text: 'from a batch line', usage: { prompt_tokens: 5, completion_tokens: 4 } });
      const ok = await server.warbler.gateway.runCompletion(caller, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }, { source: 'batch' });
      expect(ok).toMatchObject({ ok: true, status: 200, deployment: 'openai/gpt-4o-mini', body: { object: 'chat.completion', choices: [{ message: { content: 'from a batch line' } }] } });
      const denied = await server.warbler.gateway.runCompletion(caller, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      expect(denied).toMatchObject({ ok: false, status: 403, body: { error: { code: 'model_not_allowed' } } });
      const bad = await server.warbler.gateway.runCompletion(caller, { model: 'gpt-4o-mini' });
      expect(bad).toMatchObject({ ok: false, status: 400, body: { error: { param: 'messages', type: 'invalid_request_error' } } });
      const emb = await server.warbler.gateway.runCompletion({ ...caller, key: null }, { model: 'text-embedding-3-small', input: 'x' }, { endpoint: '/v1/embeddings' });
      expect(emb).toMatchObject({ ok: true, body: { object: 'list' } });
      const ledger = await rows({ key_id: key.id });
      expect(ledger).toHaveLength(1);
      expect(ledger[0]).toMatchObject({ source: 'batch', request_id: 'batch_req_1', prompt_tokens: 5, completion_tokens: 4 });
    });
  });

  describe('observability', () => {
    it('serves Prometheus metrics to the master key: requests, tokens, cost, latency and overhead, upstream errors', async () => {
      const key = await newKey();
      upstream.script({ text: 'for metrics', usage: { prompt_tokens: 7, completion_tokens: 3 } });
      await client(key.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      upstream.script({ model: 'flaky-model', fault: 'status', status: 500, times: 2 });
      await client(key.secret).chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
      await server.warbler.ledger.flush();

      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.appSecret}` } })).status).toBe(403);
      const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.masterKey}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/warbler_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200"\} \d+/);
      expect(text).toMatch(/warbler_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="502"\} \d+/);
      expect(text).toMatch(/warbler_llm_tokens_total\{model="gpt-4o-mini",type="prompt"\} \d+/);
      expect(text).toMatch(/warbler_llm_cost_total\{model="gpt-4o-mini",currency="USD"\} [\d.e-]+/);
      expect(text).toMatch(/warbler_gateway_overhead_seconds_bucket\{le="0.002",route="\/v1\/chat\/completions"\} \d+/);
      expect(text).toMatch(/warbler_http_request_duration_seconds_count\{route="\/v1\/chat\/completions"\} \d+/);
      expect(text).toMatch(/warbler_upstream_errors_total\{deployment="openai\/flaky-model",outcome="error"\} \d+/);
      expect(text).toMatch(/warbler_open_sockets \d+/);
      expect(text).toMatch(/warbler_process_resident_memory_bytes \d+/);

      // A stream is counted when it ends, with its whole duration.
      const count = async () => {
        const t = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.masterKey}` } })).text();
        return Number(/warbler_http_request_duration_seconds_count\{route="\/v1\/chat\/completions"\} (\d+)/.exec(t)?.[1]);
      };
      const before = await count();
      const stream = await client(key.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true });
      for await (const _ of stream) void _;
      expect(await waitFor(count, (n) => n === before + 1)).toBe(before + 1);
    });
  });
});

describe('GET /metrics with WARBLER_METRICS_PUBLIC=true', () => {
  it('needs no key', async () => {
    const server = await startServer('sqlite', { WARBLER_METRICS_PUBLIC: 'true' });
    try {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('warbler_http_requests_total');
    } finally {
      await server.stop();
    }
  });
});
