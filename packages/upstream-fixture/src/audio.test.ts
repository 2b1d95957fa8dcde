import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUpstreamFixture, type UpstreamFixture } from './index.ts';

let fx: UpstreamFixture;
beforeAll(async () => {
  fx = await startUpstreamFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

/** A WAV header for `seconds` of 16 kHz 16-bit mono, with its (silent) data. */
function wav(seconds: number): Buffer {
  const data = seconds * 32_000;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(16_000, 24);
  out.writeUInt32LE(32_000, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  return out;
}

function upload(fields: Record<string, string>, seconds = 3) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(wav(seconds))], { type: 'audio/wav' }), 'hello.wav');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(`${fx.url}/audio/transcriptions`, { method: 'POST', body: form });
}

describe('audio transcriptions', () => {
  it('answers verbose_json with the duration of the upload', async () => {
    const res = await upload({ model: 'whisper-1', response_format: 'verbose_json' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.duration).toBeCloseTo(3);
    expect(body.text).toContain('hello.wav');
    expect(fx.requests.at(-1)?.body).toMatchObject({ model: 'whisper-1', file: { name: 'hello.wav', bytes: 44 + 3 * 32_000 } });
  });

  it('answers json with usage in seconds for whisper and in tokens for the gpt-4o models, and subtitles for whisper', async () => {
    expect((await (await upload({ model: 'whisper-1' })).json()).usage).toEqual({ type: 'duration', seconds: 3 });
    expect((await (await upload({ model: 'gpt-4o-mini-transcribe' })).json()).usage.type).toBe('tokens');
    expect(await (await upload({ model: 'whisper-1', response_format: 'srt' })).text()).toContain('00:00:00,000 --> 00:00:03,000');
    expect((await upload({ model: 'gpt-4o-mini-transcribe', response_format: 'srt' })).status).toBe(400);
  });

  it('refuses a chat model, and a missing file, as OpenAI does', async () => {
    expect((await upload({ model: 'gpt-4o-mini' })).status).toBe(400);
    const form = new FormData();
    form.append('model', 'whisper-1');
    const res = await fetch(`${fx.url}/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('file');
  });

  it('plays a scripted fault', async () => {
    fx.script({ endpoint: 'transcription', fault: 'status', status: 503 });
    expect((await upload({ model: 'whisper-1' })).status).toBe(503);
    expect((await upload({ model: 'whisper-1' })).status).toBe(200);
  });
});

describe('audio speech', () => {
  const speak = (body: unknown) => fetch(`${fx.url}/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers audio bytes whose length follows the input', async () => {
    const short = await speak({ model: 'tts-1', input: 'Hi.', voice: 'alloy', response_format: 'wav' });
    expect(short.headers.get('content-type')).toBe('audio/wav');
    const long = await speak({ model: 'tts-1', input: 'Hello there, this is a longer sentence.', voice: 'alloy', response_format: 'wav' });
    const a = Buffer.from(await short.arrayBuffer());
    const b = Buffer.from(await long.arrayBuffer());
    expect(a.toString('ascii', 0, 4)).toBe('RIFF');
    expect(b.length).toBeGreaterThan(a.length);
    const mp3 = await speak({ model: 'gpt-4o-mini-tts', input: 'Hi.', voice: 'alloy' });
    expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
  });

  it('refuses a chat model and a missing voice', async () => {
    expect((await speak({ model: 'gpt-4o-mini', input: 'Hi', voice: 'alloy' })).status).toBe(400);
    expect((await speak({ model: 'tts-1', input: 'Hi' })).status).toBe(400);
  });
});

describe('rerank dialects', () => {
  const post = (path: string, body: unknown) => fetch(`${fx.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers Cohere v2 with search units and DashScope under output', async () => {
    const cohere = await (await post('/v2/rerank', { model: 'rerank-v3.5', query: 'cats', documents: ['cats purr', 'stocks fell'] })).json();
    expect(cohere.meta.billed_units.search_units).toBe(1);
    expect(cohere.results).toHaveLength(2);
    const ds = await (await post('/api/v1/services/rerank/text-rerank/text-rerank', { model: 'gte-rerank-v2', input: { query: 'cats', documents: ['a', 'b', 'c'] }, parameters: { top_n: 2 } })).json();
    expect(ds.output.results).toHaveLength(2);
    expect(ds.usage.total_tokens).toBeGreaterThan(0);
  });
});
