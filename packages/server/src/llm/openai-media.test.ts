// The adapter's audio and rerank calls against the upstream fixture (real HTTP, OpenAI's wire formats).
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentWav } from './audio-duration.ts';
import { createOpenAICompatibleProvider } from './openai-compatible.ts';
import { rerankProvider } from './rerank-providers.ts';
import type { LlmProvider } from './types.ts';

let fx: UpstreamFixture;
let openai: LlmProvider;
beforeAll(async () => {
  fx = await startUpstreamFixture({ apiKey: 'k' });
  openai = createOpenAICompatibleProvider({ name: 'openai', baseURL: fx.url, apiKey: 'k' });
});
afterAll(async () => {
  await openai.close?.();
  await fx.close();
});

const file = (seconds: number) => ({ bytes: silentWav(seconds), filename: 'clip.wav', contentType: 'audio/wav' });

describe('OpenAI-compatible audio', () => {
  it("asks Whisper for verbose_json and hands back the client's json, with the reported seconds", async () => {
    const t = await openai.transcribe!({ model: 'whisper-1', file: file(2.6), responseFormat: 'json' });
    expect(JSON.parse(t.body)).toEqual({ text: expect.stringContaining('clip.wav'), usage: { type: 'duration', seconds: 3 } });
    expect(t.units).toEqual({ unit: 'second', count: 3, estimated: false });
    expect(fx.requests.at(-1)?.body.response_format).toBe('verbose_json');
  });

  it('measures the WAV itself when the model reports tokens, flagged as estimated', async () => {
    const t = await openai.transcribe!({ model: 'gpt-4o-mini-transcribe', file: file(7), responseFormat: 'text' });
    expect(t.contentType).toMatch(/^text\/plain/);
    expect(t.units).toEqual({ unit: 'second', count: 7, estimated: true });
  });

  it("passes the upstream's 400 on as a bad request", async () => {
    await expect(openai.transcribe!({ model: 'gpt-4o-mini-transcribe', file: file(1), responseFormat: 'srt' })).rejects.toMatchObject({ kind: 'bad_request' });
  });

  it('returns speech bytes and counts characters as code points', async () => {
    const s = await openai.speak!({ model: 'tts-1', input: '你好, world', voice: 'alloy', responseFormat: 'wav' });
    expect(s.audio.toString('ascii', 0, 4)).toBe('RIFF');
    expect(s.contentType).toBe('audio/wav');
    expect(s.units).toEqual({ unit: 'character', count: 9, estimated: false });
  });
});

describe('rerank', () => {
  it('reads the Jina shape best first, with the tokens the upstream counted', async () => {
    const r = await openai.rerank!({ model: 'bge-reranker', query: 'cats', documents: ['cats purr', 'stocks', 'kittens are cats'], topN: 2 });
    expect(r.results).toHaveLength(2);
    expect(r.results[0]!.relevanceScore).toBeGreaterThanOrEqual(r.results[1]!.relevanceScore);
    expect(r.tokens).toBeGreaterThan(0);
  });

  it("speaks DashScope's native text-rerank", async () => {
    const ds = rerankProvider('dashscope-rerank', { baseURL: `${fx.origin}/api/v1`, apiKey: 'k', wire: 'dashscope' });
    const r = await ds.rerank!({ model: 'gte-rerank-v2', query: 'q', documents: ['a', 'b', 'c'], topN: 1 });
    expect(r.results).toHaveLength(1);
    expect(r.tokens).toBeGreaterThan(0);
    await expect(ds.complete({ model: 'gte-rerank-v2', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ kind: 'bad_request' });
    await ds.close?.();
  });

  it('reads Cohere v2 search units', async () => {
    const cohere = rerankProvider('cohere', { baseURL: `${fx.origin}/v2`, apiKey: 'k', wire: 'jina' });
    const r = await cohere.rerank!({ model: 'rerank-v3.5', query: 'q', documents: ['a', 'b'] });
    expect(r.searches).toBe(1);
    expect(r.tokens).toBeUndefined();
    await cohere.close?.();
  });
});
