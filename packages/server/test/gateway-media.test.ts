// /v1/audio/transcriptions, /v1/audio/speech and /v1/rerank end to end: a real
// Warbler on SQLite and PostgreSQL with the upstream fixture behind it as
// OpenAI, Jina, Cohere, SiliconFlow and DashScope; what a client gets back,
// and the ledger rows (units and exact cost) it leaves.
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentWav } from '../src/llm/index.ts';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const MAX_AUDIO = 200_000;

describe.each(storeKinds())('audio and rerank on the gateway (%s)', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let v1: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await startServer(kind, {
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url,
      JINA_API_KEY: 'sk-fixture', JINA_BASE_URL: upstream.url,
      COHERE_API_KEY: 'sk-fixture', COHERE_BASE_URL: `${upstream.origin}/v2`,
      SILICONFLOW_API_KEY: 'sk-fixture', SILICONFLOW_BASE_URL: upstream.url,
      DASHSCOPE_API_KEY: 'sk-fixture', DASHSCOPE_RERANK_BASE_URL: `${upstream.origin}/api/v1`,
      WARBLER_GATEWAY_AUDIO_MAX_BYTES: String(MAX_AUDIO),
    });
    v1 = `${server.url}/v1`;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  async function newKey(fields: Record<string, unknown> = {}) {
    const res = await server.api('POST', '/api/gateway/keys', { name: `media ${Math.random().toString(36).slice(2, 7)}`, ...fields });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.key.id as string, secret: res.body.secret as string };
  }

  async function rows(keyId: string): Promise<LedgerRow[]> {
    await server.warbler.ledger.flush();
    return server.warbler.store.listLedger('default', { key_id: keyId, limit: 50 });
  }

  function transcribe(secret: string, fields: Record<string, string>, audio: Buffer = silentWav(3)) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(audio)], { type: 'audio/wav' }), 'note.wav');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return fetch(`${v1}/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form });
  }

  const postJson = (path: string, secret: string, body: unknown) =>
    fetch(`${v1}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  describe('transcriptions', () => {
    it('answers json from whisper-1 and bills the seconds of audio upstream reported, at $0.006 a minute', async () => {
      const key = await newKey();
      const res = await transcribe(key.secret, { model: 'whisper-1' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-warbler-deployment')).toBe('openai/whisper-1');
      const body = await res.json();
      expect(body.text).toContain('note.wav');
      // Asked upstream for verbose_json (for the duration), handed the client the json it asked for.
      expect(upstream.requests.at(-1)?.body.response_format).toBe('verbose_json');
      expect(body.segments).toBeUndefined();
      const [row] = await rows(key.id);
      expect(row).toMatchObject({ model: 'whisper-1', outcome: 'ok', billed_unit: 'second', billed_units: 3, estimated: false, currency: 'USD', prompt_tokens: 0 });
      expect(row!.cost_nanos).toBe(300_000n); // 3 s × $0.0001
      expect(row!.price_id).toBe('whisper-1@2023-03-01');
    });

    it('answers text, srt and verbose_json as asked; subtitles are billed from the WAV header, flagged as estimated', async () => {
      const key = await newKey();
      const text = await transcribe(key.secret, { model: 'whisper-1', response_format: 'text' });
      expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await text.text()).toMatch(/^Transcript of note\.wav/);
      const srt = await transcribe(key.secret, { model: 'whisper-1', response_format: 'srt' }, silentWav(5));
      expect(await srt.text()).toContain('00:00:00,000 --> 00:00:05,000');
      const verbose = await (await transcribe(key.secret, { model: 'whisper-1', response_format: 'verbose_json', language: 'en' })).json();
      expect(verbose.duration).toBeCloseTo(3);
      const ledger = await rows(key.id);
      expect(ledger.map((r) => r.billed_units).sort()).toEqual([3, 3, 5]);
      expect(ledger.find((r) => r.billed_units === 5)?.estimated).toBe(true);
    });

    it('bills gpt-4o-mini-transcribe per second from the WAV when upstream reports tokens', async () => {
      const key = await newKey();
      const res = await transcribe(key.secret, { model: 'gpt-4o-mini-transcribe' }, silentWav(6));
      expect(res.status).toBe(200);
      const [row] = await rows(key.id);
      expect(row).toMatchObject({ billed_unit: 'second', billed_units: 6, estimated: true });
      expect(row!.cost_nanos).toBe(300_000n); // 6 s × $0.00005
    });

    it('refuses what is wrong before any upstream call, in OpenAI shape, and none of it touches the deployment', async () => {
      const key = await newKey();
      const before = upstream.counts.audio;
      const missing = await transcribe(key.secret, { model: 'no-such-model' });
      expect(missing.status).toBe(404);
      expect((await missing.json()).error).toMatchObject({ code: 'model_not_found', param: 'model' });
      const chatModel = await transcribe(key.secret, { model: 'gpt-4o-mini' });
      expect(chatModel.status).toBe(400);
      expect((await chatModel.json()).error).toMatchObject({ code: 'model_not_supported', param: 'model', type: 'invalid_request_error' });
      const speechModel = await transcribe(key.secret, { model: 'tts-1' });
      expect((await speechModel.json()).error.message).toMatch(/POST \/v1\/audio\/speech/);
      const tooBig = await transcribe(key.secret, { model: 'whisper-1' }, silentWav(MAX_AUDIO / 32_000 + 1));
      expect(tooBig.status).toBe(413);
      expect((await tooBig.json()).error).toMatchObject({ code: 'file_too_large', param: 'file' });
      const noFile = new FormData();
      noFile.append('model', 'whisper-1');
      const res = await fetch(`${v1}/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key.secret}` }, body: noFile });
      expect(res.status).toBe(400);
      expect((await res.json()).error.param).toBe('file');
      const badFormat = await transcribe(key.secret, { model: 'whisper-1', response_format: 'mp3' });
      expect((await badFormat.json()).error.param).toBe('response_format');
      const notMultipart = await postJson('/audio/transcriptions', key.secret, { model: 'whisper-1' });
      expect(notMultipart.status).toBe(400);
      expect(upstream.counts.audio).toBe(before);
      expect(await rows(key.id)).toEqual([]);
      // An upstream 400 (a format this model does not have) is the caller's too: recorded, and the circuit stays closed.
      for (let i = 0; i < 6; i++) expect((await transcribe(key.secret, { model: 'gpt-4o-mini-transcribe', response_format: 'srt' })).status).toBe(400);
      const health = server.warbler.router.health().find((h) => h.deployment === 'openai/gpt-4o-mini-transcribe');
      expect(health?.state).toBe('closed');
      expect((await rows(key.id)).every((r) => r.outcome === 'error' && r.cost_nanos === 0n)).toBe(true);
    });

    it('holds the key: allowed models and its monthly budget, which audio spends', async () => {
      const narrow = await newKey({ allowed_models: ['gpt-4o-mini'] });
      expect((await transcribe(narrow.secret, { model: 'whisper-1' })).status).toBe(403);
      const key = await newKey({ monthly_budget_usd: 0.0002 });
      expect((await transcribe(key.secret, { model: 'whisper-1' })).status).toBe(200); // $0.0003: past the budget now
      const before = upstream.counts.audio;
      const refused = await transcribe(key.secret, { model: 'whisper-1' });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('insufficient_quota');
      expect(upstream.counts.audio).toBe(before);
    });

    it('passes an upstream failure on as OpenAI would say it, with its ledger row', async () => {
      const key = await newKey();
      upstream.script({ endpoint: 'transcription', fault: 'status', status: 500, times: 10 });
      const res = await transcribe(key.secret, { model: 'whisper-1' });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect((await res.json()).error.type).toBe('server_error');
      const ledger = await rows(key.id);
      expect(ledger.length).toBeGreaterThan(0);
      expect(ledger.every((r) => r.outcome === 'error' && r.cost_nanos === 0n)).toBe(true);
    });
  });

  describe('speech', () => {
    it('answers the audio bytes and bills each character at $15 per million', async () => {
      const key = await newKey();
      const input = 'Hello from Warbler. 你好!';
      const res = await postJson('/audio/speech', key.secret, { model: 'tts-1', input, voice: 'alloy', response_format: 'wav' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const audio = Buffer.from(await res.arrayBuffer());
      expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
      const [row] = await rows(key.id);
      expect(row).toMatchObject({ model: 'tts-1', billed_unit: 'character', billed_units: [...input].length, outcome: 'ok' });
      expect(row!.cost_nanos).toBe(BigInt([...input].length * 15_000));
    });

    it('refuses bad bodies and wrong models in OpenAI shape', async () => {
      const key = await newKey();
      const before = upstream.counts.audio;
      const cases: Array<[unknown, number, string | null]> = [
        [{ model: 'tts-1', voice: 'alloy' }, 400, 'input'],
        [{ model: 'tts-1', input: 'x' }, 400, 'voice'],
        [{ model: 'tts-1', input: 'x'.repeat(4097), voice: 'alloy' }, 400, 'input'],
        [{ model: 'tts-1', input: 'x', voice: 'alloy', response_format: 'ogg' }, 400, 'response_format'],
        [{ model: 'tts-1', input: 'x', voice: 'alloy', speed: 9 }, 400, 'speed'],
        [{ model: 'whisper-1', input: 'x', voice: 'alloy' }, 400, 'model'],
        [{ model: 'nope', input: 'x', voice: 'alloy' }, 404, 'model'],
      ];
      for (const [body, status, param] of cases) {
        const res = await postJson('/audio/speech', key.secret, body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        expect((await res.json()).error.param).toBe(param);
      }
      expect(upstream.counts.audio).toBe(before);
    });
  });

  describe('rerank', () => {
    const documents = ['Cats purr when they are content.', { text: 'The stock market fell today.' }, 'Kittens are young cats.'];

    it('answers the Jina shape from Jina, billed per token as Jina counted them', async () => {
      const key = await newKey();
      const res = await postJson('/rerank', key.secret, { model: 'jina-reranker-v2-base-multilingual', query: 'cats', documents, top_n: 2, return_documents: true });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.results).toHaveLength(2);
      expect(body.results[0]).toMatchObject({ index: expect.any(Number), relevance_score: expect.any(Number), document: { text: expect.any(String) } });
      expect(body.results[0].relevance_score).toBeGreaterThanOrEqual(body.results[1].relevance_score);
      expect(body.usage.total_tokens).toBeGreaterThan(0);
      const [row] = await rows(key.id);
      expect(row).toMatchObject({ provider: 'jina', prompt_tokens: body.usage.total_tokens, estimated: false, billed_unit: 'search', billed_units: 1 });
      // $0.02 per 1M tokens: 20 nanos a token.
      expect(row!.cost_nanos).toBe(BigInt(body.usage.total_tokens * 20));
    });

    it('bills Cohere per search ($2 per 1,000), DashScope in CNY per token, SiliconFlow at nothing', async () => {
      const key = await newKey();
      const cohere = await postJson('/rerank', key.secret, { model: 'rerank-v3.5', query: 'cats', documents });
      expect(cohere.status).toBe(200);
      expect((await cohere.json()).meta.billed_units.search_units).toBe(1);
      const ds = await postJson('/rerank', key.secret, { model: 'gte-rerank-v2', query: 'cats', documents, top_n: 1 });
      expect(ds.status).toBe(200);
      expect((await ds.json()).results).toHaveLength(1);
      const sf = await postJson('/rerank', key.secret, { model: 'BAAI/bge-reranker-v2-m3', query: 'cats', documents });
      expect(sf.status).toBe(200);
      const ledger = await rows(key.id);
      const by = (m: string) => ledger.find((r) => r.model === m)!;
      expect(by('rerank-v3.5')).toMatchObject({ provider: 'cohere', billed_unit: 'search', billed_units: 1, cost_nanos: 2_000_000n, currency: 'USD' });
      expect(by('gte-rerank-v2')).toMatchObject({ provider: 'dashscope-rerank', currency: 'CNY', estimated: false });
      expect(by('gte-rerank-v2').cost_nanos).toBe(BigInt(by('gte-rerank-v2').prompt_tokens * 800));
      expect(by('BAAI/bge-reranker-v2-m3')).toMatchObject({ provider: 'siliconflow', cost_nanos: 0n, currency: 'CNY' });
    });

    it('refuses bad bodies and non-rerank models before any upstream call', async () => {
      const key = await newKey();
      const before = upstream.counts.rerank;
      const cases: Array<[unknown, number, string | null]> = [
        [{ model: 'rerank-v3.5', documents }, 400, 'query'],
        [{ model: 'rerank-v3.5', query: 'q', documents: [] }, 400, 'documents'],
        [{ model: 'rerank-v3.5', query: 'q', documents: [1] }, 400, 'documents[0]'],
        [{ model: 'rerank-v3.5', query: 'q', documents, top_n: 0 }, 400, 'top_n'],
        [{ model: 'gpt-4o-mini', query: 'q', documents }, 400, 'model'],
        [{ model: 'no-such-reranker', query: 'q', documents }, 404, 'model'],
      ];
      for (const [body, status, param] of cases) {
        const res = await postJson('/rerank', key.secret, body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        expect((await res.json()).error.param).toBe(param);
      }
      expect(upstream.counts.rerank).toBe(before);
      expect(await rows(key.id)).toEqual([]);
    });

    it('lists the audio and rerank models in GET /v1/models', async () => {
      const res = await fetch(`${v1}/models`, { headers: { authorization: `Bearer ${server.masterKey}` } });
      const ids = ((await res.json()).data as Array<{ id: string }>).map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['whisper-1', 'gpt-4o-mini-transcribe', 'tts-1', 'gpt-4o-mini-tts', 'jina-reranker-v2-base-multilingual', 'rerank-v3.5', 'gte-rerank-v2']));
    });
  });
});
