import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens as countChatTokens } from 'gpt-tokenizer/model/gpt-4o';
import { startUpstreamFixture, type UpstreamFixture } from './index.ts';

let fx: UpstreamFixture;
beforeAll(async () => {
  fx = await startUpstreamFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${fx.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello there, fixture' },
  ],
  ...extra,
});

/** Every `data:` payload of an SSE body, in order. */
function events(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

describe('chat completions, JSON', () => {
  it('echoes the last user message with usage counted by o200k', async () => {
    const res = await post('/chat/completions', chat());
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello there, fixture' });
    expect(body.choices[0].finish_reason).toBe('stop');
    // The fixture counts the way gpt-tokenizer counts a gpt-4o chat (3 per message, 3 to prime the reply).
    const prompt = countChatTokens(chat().messages);
    expect(body.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 4, total_tokens: prompt + 4 });
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(0);
  });

  it('answers scripted text, usage and tool calls', async () => {
    fx.script({
      text: '',
      toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }],
      usage: { prompt_tokens: 100, completion_tokens: 7, cached_tokens: 64 },
    });
    const body = await (await post('/chat/completions', chat())).json();
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }]);
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(64);
  });
});

describe('chat completions, SSE', () => {
  it('streams OpenAI-shaped chunks, a final usage chunk with empty choices, then [DONE]', async () => {
    fx.script({ chunks: ['Hel', 'lo', ' world'], usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 4, reasoning_tokens: 1 } });
    const res = await post('/chat/completions', chat({ stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = events(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(typeof c.x_fixture_sent_at).toBe('number');
      expect(c).toHaveProperty('usage');
    }
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.slice(1, 4).map((c) => c.choices[0].delta.content)).toEqual(['Hel', 'lo', ' world']);
    expect(chunks[4].choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(chunks[4].usage).toBeNull();
    expect(chunks[5].choices).toEqual([]);
    expect(chunks[5].usage).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 3,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 1 },
    });
    const stamps = chunks.map((c) => c.x_fixture_sent_at as number);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
  });

  it('sends no usage field when the client did not ask for it', async () => {
    const data = events(await (await post('/chat/completions', chat({ stream: true }))).text());
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
  });

  it('streams tool calls by index with argument fragments', async () => {
    fx.script({
      text: '',
      toolCalls: [
        { id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}', argumentChunks: ['{"city"', ':"Paris"}'] },
        { id: 'call_b', name: 'time', arguments: '{}' },
      ],
    });
    const data = events(await (await post('/chat/completions', chat({ stream: true }))).text());
    const deltas = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]);
    const calls = deltas.flatMap((c) => c.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } });
    expect(calls.filter((c: any) => c.index === 0).map((c: any) => c.function.arguments).join('')).toBe('{"city":"Paris"}');
    expect(calls.find((c: any) => c.index === 1)).toMatchObject({ id: 'call_b', function: { name: 'time' } });
    expect(deltas.at(-1).finish_reason).toBe('tool_calls');
  });

  it('waits the time to first token and the chunk interval', async () => {
    fx.script({ chunks: ['a', 'b', 'c'], ttftMs: 80, intervalMs: 30 });
    const t0 = performance.timeOrigin + performance.now();
    const data = events(await (await post('/chat/completions', chat({ stream: true }))).text());
    const content = data.slice(0, -1).map((d) => JSON.parse(d)).filter((c) => c.choices[0]?.delta.content);
    expect(content[0].x_fixture_sent_at - t0).toBeGreaterThanOrEqual(75);
    expect(content[2].x_fixture_sent_at - content[0].x_fixture_sent_at).toBeGreaterThanOrEqual(55);
  });

  it('can stamp the send time into the text itself', async () => {
    fx.script({ chunks: ['x'], stampText: true });
    const data = events(await (await post('/chat/completions', chat({ stream: true }))).text());
    expect(JSON.parse(data[1]!).choices[0].delta.content).toMatch(/^\[\[t:\d+(\.\d+)?\]\]x$/);
  });

  it('can write ASCII-only JSON, as Python servers do', async () => {
    fx.script({ text: '请拨打 [PHONE_1] 😀', asciiJson: true });
    const raw = await (await post('/chat/completions', chat())).text();
    expect(raw).toMatch(/^[\x00-\x7f]+$/);
    expect(raw).toContain('\\u8bf7');
    expect(JSON.parse(raw).choices[0].message.content).toBe('请拨打 [PHONE_1] 😀');
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After and an OpenAI error body', async () => {
    fx.script({ fault: 'rate_limit', retryAfterMs: 1500 });
    const res = await post('/chat/completions', chat());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    expect((await res.json()).error.code).toBe('rate_limit_exceeded');
  });

  it('answers 500 and 503', async () => {
    fx.script({ fault: 'status', status: 500 }, { fault: 'status', status: 503 });
    expect((await post('/chat/completions', chat())).status).toBe(500);
    expect((await post('/chat/completions', chat())).status).toBe(503);
    expect((await post('/chat/completions', chat())).status).toBe(200);
  });

  it('matches steps by model and keeps `times: Infinity` steps', async () => {
    fx.script({ model: 'dead', fault: 'status', status: 503, times: Infinity });
    expect((await post('/chat/completions', chat())).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post('/chat/completions', chat({ model: 'dead' }))).status).toBe(503);
  });

  it('matches steps by the last user message, so one caller\'s prompts fail and another\'s do not', async () => {
    fx.script({ promptContains: 'poison', fault: 'status', status: 500, times: Infinity });
    const poisoned = chat({ messages: [{ role: 'user', content: 'a poison prompt' }] });
    for (let i = 0; i < 2; i++) expect((await post('/chat/completions', poisoned)).status).toBe(500);
    expect((await post('/chat/completions', chat())).status).toBe(200);
  });

  it('cuts the stream after the first chunk', async () => {
    fx.script({ fault: 'cut', afterChunks: 1, text: 'one two three' });
    const res = await post('/chat/completions', chat({ stream: true }));
    await expect(res.text()).rejects.toThrow();
  });

  it('sends a chunk that is not JSON', async () => {
    fx.script({ fault: 'malformed', afterChunks: 1 });
    const data = events(await (await post('/chat/completions', chat({ stream: true }))).text());
    expect(() => JSON.parse(data.at(-1)!)).toThrow();
  });

  it('hangs until the client gives up', async () => {
    fx.script({ fault: 'hang' });
    await expect(post('/chat/completions', chat({ stream: true }), AbortSignal.timeout(100))).rejects.toThrow(/abort|timeout/i);
  });
});

describe('embeddings and models', () => {
  it('returns deterministic vectors, floats or base64, that rank similar texts closer', async () => {
    const input = ['the cat sat on the mat', 'a cat on a mat', 'quarterly revenue report'];
    const body = await (await post('/embeddings', { model: 'text-embedding-3-small', input, dimensions: 64 })).json();
    const [a, b, c] = body.data.map((d: any) => d.embedding as number[]);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(a).toHaveLength(64);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);

    const b64 = await (await post('/embeddings', { model: 'm', input: input[0], dimensions: 64, encoding_format: 'base64' })).json();
    const floats = Array.from(new Float32Array(Uint8Array.from(Buffer.from(b64.data[0].embedding, 'base64')).buffer));
    floats.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5));
  });

  it('lists models', async () => {
    const body = await (await fetch(`${fx.url}/models`)).json();
    expect(body.data.map((m: any) => m.id)).toContain('gpt-4o-mini');
  });
});

describe('recording and remote control', () => {
  it('records request bodies, so tests can check what was sent upstream', async () => {
    await post('/chat/completions', chat({ stream: true, stream_options: { include_usage: true } })).then((r) => r.text());
    expect(fx.requests).toHaveLength(1);
    expect(fx.requests[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  it('takes steps over HTTP', async () => {
    await fetch(`${fx.origin}/_fixture/script`, { method: 'POST', body: JSON.stringify([{ text: 'remote', times: -1 }]) });
    for (let i = 0; i < 2; i++) {
      const body = await (await post('/chat/completions', chat())).json();
      expect(body.choices[0].message.content).toBe('remote');
    }
  });
});

describe('prompt caching, as OpenAI reports it', () => {
  // About 1,500 tokens of a stable beginning: a system prompt and earlier turns.
  const history = Array.from({ length: 60 }, (_, i) => [
    { role: 'user', content: `Question ${i}: where is parcel number ${1000 + i} now?` },
    { role: 'assistant', content: `Parcel ${1000 + i} left the Hangzhou depot this morning and arrives tomorrow.` },
  ]).flat();
  const ask = (system: string, last: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, ...history, { role: 'user', content: last }] });
  const usageOf = async (body: unknown) => (await (await post('/chat/completions', body)).json()).usage;

  it('reports the repeated beginning of a prompt as cached tokens: 1,024 and up, in steps of 128', async () => {
    const first = await usageOf(ask('Be brief.', 'And parcel 9?'));
    expect(first.prompt_tokens).toBeGreaterThan(1_500);
    expect(first.prompt_tokens_details.cached_tokens).toBe(0);
    const second = await usageOf(ask('Be brief.', 'And what about parcel 10, the blue one?'));
    const cached = second.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThanOrEqual(1_024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(second.prompt_tokens);
    // Everything but the new question repeats: at most one step of 128 is left uncached.
    expect(second.prompt_tokens - cached).toBeLessThan(128 + 40);
  });

  it('reports nothing cached when the beginning changed, the model differs, or the prompt is short', async () => {
    await usageOf(ask('Be brief.', 'And parcel 9?'));
    expect((await usageOf(ask('Be very brief.', 'And parcel 9?'))).prompt_tokens_details.cached_tokens).toBe(0);
    expect((await usageOf({ ...ask('Be brief.', 'And parcel 9?'), model: 'gpt-4o' })).prompt_tokens_details.cached_tokens).toBe(0);
    await usageOf(chat());
    expect((await usageOf(chat())).prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('forgets on reset, and leaves scripted usage as scripted', async () => {
    await usageOf(ask('Be brief.', 'And parcel 9?'));
    fx.reset();
    expect((await usageOf(ask('Be brief.', 'And parcel 9?'))).prompt_tokens_details.cached_tokens).toBe(0);
    fx.script({ usage: { prompt_tokens: 2_000, completion_tokens: 5 } });
    expect((await usageOf(ask('Be brief.', 'And parcel 9?'))).prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('reports cached tokens on streams too', async () => {
    await usageOf(ask('Be brief.', 'And parcel 9?'));
    const text = await (await post('/chat/completions', { ...ask('Be brief.', 'And parcel 11?'), stream: true, stream_options: { include_usage: true } })).text();
    const last = JSON.parse(events(text).filter((e) => e !== '[DONE]').at(-1)!);
    expect(last.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1_024);
  });
});
