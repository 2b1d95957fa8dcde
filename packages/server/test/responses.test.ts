// /v1/responses over real sockets, Warbler in front of the upstream fixture
// (which speaks only chat completions: every call here is translated).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { costOf, seedPriceTable } from '../src/llm/index.ts';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const prices = seedPriceTable();

/** An SSE body as [event, data] pairs. */
async function sse(res: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
    const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
    return { event, data };
  });
}

describe.each(storeKinds())('/v1/responses on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let v1: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-responses-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1', 'router:', '  retry: { max_retries: 0 }',
      'guardrails:', '  lists:', '    illegal:', '      action: block', '      words: [代开发票]', '',
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
    return { id: res.body.key.id as string, secret: res.body.secret as string };
  }
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: v1, maxRetries: 0 });
  const post = (secret: string, p: string, body: unknown) =>
    fetch(`${v1}${p}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chatRequests = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions');

  async function rows(keyId: string): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { key_id: keyId, limit: 100 });
  }

  it('creates a response from a string and instructions: chat upstream, a Response back, the same ledger row as chat', async () => {
    const key = await newKey({ rpm: 100, tpm: 100_000 });
    upstream.script({ text: 'Bonjour.', usage: { prompt_tokens: 21, completion_tokens: 3 } });
    const { data, response } = await client(key.secret).responses.create({ model: 'gpt-4o-mini', instructions: 'Answer in French.', input: 'Hello', temperature: 0.2, max_output_tokens: 50 }).withResponse();
    expect(data).toMatchObject({
      object: 'response', status: 'completed', model: 'gpt-4o-mini', instructions: 'Answer in French.', store: true, temperature: 0.2, max_output_tokens: 50,
      error: null, incomplete_details: null, previous_response_id: null,
      usage: { input_tokens: 21, output_tokens: 3, total_tokens: 24, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(data.id).toMatch(/^resp_/);
    expect(data.output_text).toBe('Bonjour.');
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Bonjour.' }] });
    expect(response.headers.get('x-warbler-deployment')).toBe('openai/gpt-4o-mini');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(chatRequests()[0]!.body).toMatchObject({
      model: 'gpt-4o-mini', temperature: 0.2, max_tokens: 50, stream: false,
      messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'Hello' }],
    });
    const ledger = await rows(key.id);
    expect(ledger).toHaveLength(1);
    const cost = costOf({ promptTokens: 21, cachedTokens: 0, completionTokens: 3 }, prices.lookup('gpt-4o-mini')!);
    expect(ledger[0]).toMatchObject({ model: 'gpt-4o-mini', outcome: 'ok', prompt_tokens: 21, completion_tokens: 3, cost_nanos: BigInt(cost.nanos) });
  });

  it('streams the full event sequence for text, with sequence numbers, and keeps the response', async () => {
    const key = await newKey();
    upstream.script({ chunks: ['One ', 'two.'], usage: { prompt_tokens: 8, completion_tokens: 2 } });
    const res = await post(key.secret, '/responses', { model: 'gpt-4o-mini', input: 'Count', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await sse(res);
    expect(events.map((e) => e.event)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    expect(events.every((e) => e.data.type === e.event)).toBe(true);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[4]!.data).toMatchObject({ delta: 'One ', output_index: 0, content_index: 0 });
    expect(events[6]!.data.text).toBe('One two.');
    const done = events[9]!.data.response;
    expect(done).toMatchObject({ status: 'completed', usage: { input_tokens: 8, output_tokens: 2 } });
    expect(chatRequests()[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const got = await client(key.secret).responses.retrieve(done.id);
    expect(got.output_text).toBe('One two.');
  });

  it('streams a function call: arguments deltas and done, then the tool output turn with previous_response_id', async () => {
    const key = await newKey();
    const tools = [{ type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true }];
    upstream.script({ text: '', toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}', argumentChunks: ['{"city":', '"Paris"}'] }] });
    const res = await post(key.secret, '/responses', { model: 'gpt-4o-mini', input: 'Weather in Paris?', tools, stream: true });
    const events = await sse(res);
    expect(events.map((e) => e.event)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added',
      'response.function_call_arguments.delta', 'response.function_call_arguments.delta', 'response.function_call_arguments.done',
      'response.output_item.done', 'response.completed',
    ]);
    expect(events[2]!.data.item).toMatchObject({ type: 'function_call', call_id: 'call_w1', name: 'get_weather', arguments: '' });
    expect(events[5]!.data).toMatchObject({ arguments: '{"city":"Paris"}' });
    const first = events[7]!.data.response;
    expect(first.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' })]);
    expect(chatRequests()[0]!.body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: tools[0]!.parameters, strict: true } }]);

    upstream.script({ text: 'Sunny in Paris.' });
    const second = await client(key.secret).responses.create({
      model: 'gpt-4o-mini', previous_response_id: first.id, tools,
      input: [{ type: 'function_call_output', call_id: 'call_w1', output: '{"sky":"sunny"}' }],
    });
    expect(second.output_text).toBe('Sunny in Paris.');
    expect(second.previous_response_id).toBe(first.id);
    expect(chatRequests()[1]!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_w1', content: '{"sky":"sunny"}' },
    ]);
  });

  it('chains turns with previous_response_id (instructions not carried over), lists input items, deletes', async () => {
    const key = await newKey();
    const openai = client(key.secret);
    upstream.script({ text: 'Nice to meet you, Ana.' });
    const one = await openai.responses.create({ model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'My name is Ana.' });
    upstream.script({ text: 'Ana.' });
    const two = await openai.responses.create({ model: 'gpt-4o-mini', previous_response_id: one.id, input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is my name?' }] }] });
    expect(two.output_text).toBe('Ana.');
    expect(chatRequests()[1]!.body.messages).toEqual([
      { role: 'user', content: 'My name is Ana.' },
      { role: 'assistant', content: 'Nice to meet you, Ana.' },
      { role: 'user', content: 'What is my name?' },
    ]);

    const items = await openai.responses.inputItems.list(two.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is my name?' }] });
    expect((await openai.responses.retrieve(one.id)).output_text).toBe('Nice to meet you, Ana.');

    // Another key of the same app does not see them.
    const other = client((await newKey()).secret);
    expect(await other.responses.retrieve(one.id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    expect(await other.responses.create({ model: 'gpt-4o-mini', previous_response_id: one.id, input: 'x' }).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);

    await openai.responses.delete(one.id);
    expect(await openai.responses.retrieve(one.id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
  });

  it('store: false keeps nothing: retrieve and previous_response_id get 404', async () => {
    const key = await newKey();
    const openai = client(key.secret);
    upstream.script({ text: 'ok' });
    const r = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', store: false });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    const e = await openai.responses.retrieve(r.id).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as NotFoundError).message).toContain('store: false');
    expect(await openai.responses.create({ model: 'gpt-4o-mini', previous_response_id: r.id, input: 'x' }).catch((err: unknown) => err)).toBeInstanceOf(NotFoundError);
  });

  it('translates text.format json_schema, input_image and tool_choice', async () => {
    const key = await newKey();
    upstream.script({ text: '{"color":"red"}' });
    const schema = { type: 'object', properties: { color: { type: 'string' } }, required: ['color'], additionalProperties: false };
    const r = await client(key.secret).responses.create({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What color?' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' }] }],
      text: { format: { type: 'json_schema', name: 'color', schema, strict: true } },
    });
    expect(JSON.parse(r.output_text)).toEqual({ color: 'red' });
    expect(r.text).toMatchObject({ format: { type: 'json_schema', name: 'color' } });
    const sent = chatRequests()[0]!.body;
    expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'color', schema, strict: true } });
    expect(sent.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } });
  });

  it('refuses what it cannot translate with a 400 that names the field, before any call', async () => {
    const openai = client((await newKey()).secret);
    const web = await openai.responses.create({ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'web_search_preview' }] }).catch((e: unknown) => e);
    expect(web).toBeInstanceOf(BadRequestError);
    expect((web as BadRequestError).message).toContain('only function tools');
    const bg = await openai.responses.create({ model: 'gpt-4o-mini', input: 'x', background: true }).catch((e: unknown) => e);
    expect(bg).toBeInstanceOf(BadRequestError);
    const unknown = await openai.responses.create({ model: 'no-such-model', input: 'x' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(chatRequests()).toHaveLength(0);
  });

  it('an upstream failure mid-stream ends with error and response.failed; the failed response is kept', async () => {
    const key = await newKey();
    upstream.script({ fault: 'cut', afterChunks: 1, text: 'partial answer here' });
    const events = await sse(await post(key.secret, '/responses', { model: 'gpt-4o-mini', input: 'go', stream: true }));
    const names = events.map((e) => e.event);
    expect(names.slice(-2)).toEqual(['error', 'response.failed']);
    expect(names).toContain('response.output_text.delta');
    const failed = events.at(-1)!.data.response;
    expect(failed).toMatchObject({ status: 'failed', error: { code: expect.stringContaining('upstream') } });
    expect((await client(key.secret).responses.retrieve(failed.id)).status).toBe('failed');
  });

  it('cancels a response still streaming: the stream ends cancelled, and retrieve says so', async () => {
    const key = await newKey();
    upstream.script({ chunks: ['a ', 'b ', 'c ', 'd ', 'e '], intervalMs: 150 });
    const res = await post(key.secret, '/responses', { model: 'gpt-4o-mini', input: 'slow', stream: true });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while (!seen.includes('response.output_text.delta')) seen += decoder.decode((await reader.read()).value);
    const id = /"id":"(resp_[0-9a-f]+)"/.exec(seen)![1]!;
    const live = await client(key.secret).responses.retrieve(id);
    expect(live.status).toBe('in_progress');
    const cancelled = await client(key.secret).responses.cancel(id);
    expect(cancelled.status).toBe('cancelled');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    expect(seen).toContain('event: response.failed');
    expect(seen).toContain('"status":"cancelled"');
    expect((await client(key.secret).responses.retrieve(id)).status).toBe('cancelled');
    const again = await client(key.secret).responses.cancel(id);
    expect(again.status).toBe('cancelled');
  });

  it('a client that leaves before a non-streamed response stops the upstream call, and the row says so', async () => {
    const key = await newKey();
    upstream.script({ promptContains: 'slow answer', text: 'too late', ttftMs: 5_000 });
    const before = chatRequests().length;
    const abort = new AbortController();
    const sent = fetch(`${v1}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'slow answer please' }),
      signal: abort.signal,
    });
    // Upstream has the call; then the client goes.
    for (const until = Date.now() + 3000; chatRequests().length === before && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await expect(sent).rejects.toThrow();
    let ledger = await rows(key.id);
    for (const until = Date.now() + 3000; (ledger.length !== 1 || ledger[0]!.outcome === 'pending') && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 20));
      ledger = await rows(key.id);
    }
    expect(ledger[0]).toMatchObject({ outcome: 'stopped', completion_tokens: 0 });
    expect(ledger[0]!.latency_ms).toBeLessThan(4_000);
  });

  it('guardrails hold on /v1/responses as on chat: a blocked word is refused before any call, and costs nothing', async () => {
    const key = await newKey();
    const e = await client(key.secret).responses.create({ model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: '可以代 开 發 票吗' }] }] }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BadRequestError);
    expect((e as BadRequestError).code).toBe('content_policy_violation');
    expect(chatRequests()).toHaveLength(0);
    expect(await rows(key.id)).toHaveLength(0);
  });

  it('a store that fails to keep a finished response does not take the answer from the client (JSON and stream)', async () => {
    const key = await newKey();
    const store = server.warbler.store;
    const put = store.putResponse;
    store.putResponse = async () => {
      throw new Error('database went away');
    };
    try {
      upstream.script({ text: 'still yours' });
      expect((await client(key.secret).responses.create({ model: 'gpt-4o-mini', input: 'x' })).output_text).toBe('still yours');
      upstream.script({ text: 'streamed anyway' });
      const events = await sse(await post(key.secret, '/responses', { model: 'gpt-4o-mini', input: 'y', stream: true }));
      expect(events.at(-1)!.event).toBe('response.completed');
    } finally {
      store.putResponse = put;
    }
  });

  it('in-process models answer through the same translation (local/kb-answer, no upstream call)', async () => {
    const key = await newKey();
    const openai = client(key.secret);
    const r = await openai.responses.create({ model: 'local/kb-answer', input: 'How do I start Warbler?' });
    expect(r.status).toBe('completed');
    expect(r.output_text.length).toBeGreaterThan(0);
    let streamed = '';
    for await (const e of await openai.responses.create({ model: 'local/kb-answer', input: 'How do I start Warbler?', stream: true })) {
      if (e.type === 'response.output_text.delta') streamed += e.delta;
    }
    expect(streamed).toBe(r.output_text);
    expect(chatRequests()).toHaveLength(0);
  });
});
