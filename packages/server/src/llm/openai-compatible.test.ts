import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LlmError } from './errors.ts';
import { createOpenAICompatibleProvider, usageFromWire } from './openai-compatible.ts';
import { collectChat } from './stream.ts';
import type { ChatRequest, ChatStreamPart, LlmProvider } from './types.ts';

let fx: UpstreamFixture;
let provider: LlmProvider;
beforeAll(async () => {
  fx = await startUpstreamFixture();
  provider = createOpenAICompatibleProvider({ name: 'fixture', baseURL: fx.url, apiKey: 'test-key' });
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello' }],
  ...extra,
});

async function parts(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const out: ChatStreamPart[] = [];
  for await (const p of stream) out.push(p);
  return out;
}

const errorOf = (ps: ChatStreamPart[]) => {
  const last = ps.at(-1);
  if (last?.type !== 'error') throw new Error(`expected an error part, got ${JSON.stringify(last)}`);
  return last.error;
};

describe('chat stream', () => {
  it('yields text deltas in order, then usage from the final chunk, then finish', async () => {
    fx.script({ chunks: ['One', ' two', ' three'], intervalMs: 5, usage: { prompt_tokens: 42, completion_tokens: 3, cached_tokens: 32, reasoning_tokens: 0 } });
    const ps = await parts(provider.chat(request()));
    expect(ps.filter((p) => p.type === 'text-delta').map((p) => (p as { text: string }).text)).toEqual(['One', ' two', ' three']);
    const usage = { promptTokens: 42, completionTokens: 3, totalTokens: 45, cachedTokens: 32, reasoningTokens: 0, estimated: false };
    expect(ps.at(-2)).toEqual({ type: 'usage', usage });
    expect(ps.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage });
  });

  it('takes the final usage, never a sum of running totals', async () => {
    fx.script({ chunks: ['a', 'b', 'c', 'd'], runningUsage: true, usage: { prompt_tokens: 10, completion_tokens: 4 } });
    const c = await collectChat(provider.chat(request()));
    expect(c.usage).toMatchObject({ promptTokens: 10, completionTokens: 4, totalTokens: 14 });
  });

  it('always asks upstream for usage, whatever the caller passed', async () => {
    await collectChat(provider.chat(request({ extra: { stream_options: { include_usage: false } } })));
    expect(fx.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('passes request fields and extras through to upstream', async () => {
    await collectChat(provider.chat(request({ temperature: 0.2, max_tokens: 50, extra: { logit_bias: { '50256': -100 } } })));
    expect(fx.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2, max_tokens: 50, logit_bias: { '50256': -100 } });
  });

  it('estimates usage, flagged, when upstream sends none', async () => {
    fx.script({ text: 'Hello, world!', usage: null });
    const c = await collectChat(provider.chat(request()));
    expect(c.usage).toMatchObject({ completionTokens: 4, estimated: true });
    expect(c.usage.promptTokens).toBeGreaterThan(0);
  });

  it('assembles streamed tool-call deltas by index', async () => {
    fx.script({
      text: '',
      toolCalls: [
        { id: 'call_w', name: 'weather', arguments: '{"city":"Paris","unit":"c"}', argumentChunks: ['{"ci', 'ty":"Par', 'is","unit":"c"}'] },
        { id: 'call_t', name: 'time', arguments: '{"tz":"Europe/Paris"}' },
      ],
    });
    const ps = await parts(provider.chat(request()));
    const deltas = ps.filter((p) => p.type === 'tool-call-delta');
    expect(deltas[0]).toEqual({ type: 'tool-call-delta', index: 0, id: 'call_w', name: 'weather', argumentsDelta: '' });
    expect(deltas.filter((d) => d.index === 0).map((d) => d.argumentsDelta)).toEqual(['', '{"ci', 'ty":"Par', 'is","unit":"c"}']);
    expect(ps.filter((p) => p.type === 'tool-call')).toEqual([
      { type: 'tool-call', index: 0, id: 'call_w', name: 'weather', arguments: '{"city":"Paris","unit":"c"}' },
      { type: 'tool-call', index: 1, id: 'call_t', name: 'time', arguments: '{"tz":"Europe/Paris"}' },
    ]);
    expect(ps.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('streams reasoning_content as reasoning deltas', async () => {
    fx.script({ reasoning: 'Think first.', text: 'Answer.', usage: { prompt_tokens: 5, completion_tokens: 9, reasoning_tokens: 4 } });
    const c = await collectChat(provider.chat(request()));
    expect(c.reasoning).toBe('Think first.');
    expect(c.text).toBe('Answer.');
    expect(c.usage.reasoningTokens).toBe(4);
  });
});

describe('errors', () => {
  it('maps 429 to rate_limited with Retry-After', async () => {
    fx.script({ fault: 'rate_limit', retryAfterMs: 1500 });
    const e = errorOf(await parts(provider.chat(request())));
    expect(e).toBeInstanceOf(LlmError);
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 1500, code: 'rate_limit_exceeded' });
    expect(e.transient).toBe(true);
  });

  it.each([
    [500, 'server'],
    [503, 'server'],
    [400, 'bad_request'],
    [401, 'auth'],
    [404, 'not_found'],
  ] as const)('maps HTTP %i to %s', async (status, kind) => {
    fx.script({ fault: 'status', status });
    expect(errorOf(await parts(provider.chat(request())))).toMatchObject({ kind, status });
  });

  it('reports a cut stream after the text that did arrive', async () => {
    fx.script({ fault: 'cut', afterChunks: 2, text: 'one two three four' });
    const ps = await parts(provider.chat(request()));
    expect(ps.filter((p) => p.type === 'text-delta').map((p) => (p as { text: string }).text).join('')).toBe('one two ');
    expect(errorOf(ps).kind).toBe('cut_stream');
  });

  it('reports a malformed chunk', async () => {
    fx.script({ fault: 'malformed', afterChunks: 1 });
    expect(errorOf(await parts(provider.chat(request()))).kind).toBe('malformed');
  });

  it('reports a refused connection', async () => {
    const dead = createOpenAICompatibleProvider({ name: 'dead', baseURL: 'http://127.0.0.1:9/v1' });
    expect(errorOf(await parts(dead.chat(request()))).kind).toBe('connection');
  });

  it('stops when the caller aborts, and says why when the reason is ours', async () => {
    fx.script({ fault: 'hang' }, { fault: 'hang', afterChunks: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(errorOf(await parts(provider.chat(request(), { signal: controller.signal }))).kind).toBe('aborted');

    // Our own reason, given once the first piece arrived (not after a fixed delay: on a loaded machine the piece can take longer).
    const timeout = new AbortController();
    const ps: ChatStreamPart[] = [];
    for await (const p of provider.chat(request(), { signal: timeout.signal })) {
      ps.push(p);
      if (p.type === 'text-delta' && !timeout.signal.aborted) timeout.abort(new LlmError('timeout', 'too slow'));
    }
    expect(ps.some((p) => p.type === 'text-delta')).toBe(true);
    expect(errorOf(ps)).toMatchObject({ kind: 'timeout', message: 'too slow' });
  });
});

describe('complete and embed', () => {
  it('completes without streaming', async () => {
    fx.script({ text: 'Plain answer.', usage: { prompt_tokens: 8, completion_tokens: 3, cached_tokens: 0 } });
    const c = await provider.complete(request());
    expect(c).toMatchObject({ text: 'Plain answer.', finishReason: 'stop', usage: { promptTokens: 8, completionTokens: 3, estimated: false } });
    expect(fx.requests.at(-1)!.body.stream).toBe(false);
    expect(c.raw).toMatchObject({ object: 'chat.completion' });
  });

  it('returns tool calls from a non-streaming reply', async () => {
    fx.script({ text: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{"q":"x"}' }] });
    const c = await provider.complete(request());
    expect(c.toolCalls).toEqual([{ id: 'c1', name: 'lookup', arguments: '{"q":"x"}' }]);
    expect(c.finishReason).toBe('tool_calls');
  });

  it('rejects with an LlmError', async () => {
    fx.script({ fault: 'status', status: 503 });
    await expect(provider.complete(request())).rejects.toMatchObject({ kind: 'server', status: 503 });
    fx.script({ fault: 'malformed' });
    await expect(provider.complete(request())).rejects.toBeInstanceOf(LlmError);
  });

  it('embeds', async () => {
    const r = await provider.embed({ model: 'text-embedding-3-small', input: ['hello world', 'goodbye'], dimensions: 32 });
    expect(r.vectors).toHaveLength(2);
    expect(r.vectors[0]).toHaveLength(32);
    expect(r.usage.estimated).toBe(false);
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    // Asked as base64 (a third of the bytes); decoded, the vectors are the ones the float form carries.
    expect(fx.requests.at(-1)!.body).toMatchObject({ encoding_format: 'base64' });
    const floats = (await (
      await fetch(`${fx.url}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'text-embedding-3-small', input: ['hello world', 'goodbye'], dimensions: 32 }) })
    ).json()) as { data: Array<{ embedding: number[] }> };
    floats.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(r.vectors[i]![j]).toBeCloseTo(x, 5)));
  });
});

describe('usageFromWire', () => {
  it('reads cached and reasoning tokens, including DeepSeek’s cache-hit field', () => {
    expect(usageFromWire({ prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_cache_hit_tokens: 64 })).toEqual({
      promptTokens: 100,
      completionTokens: 20,
      totalTokens: 120,
      cachedTokens: 64,
      reasoningTokens: 0,
      estimated: false,
    });
    expect(
      usageFromWire({
        prompt_tokens: 10,
        completion_tokens: 30,
        total_tokens: 40,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 25 },
      }),
    ).toMatchObject({ cachedTokens: 5, reasoningTokens: 25 });
  });
});
