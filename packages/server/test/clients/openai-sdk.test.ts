// The official `openai` SDK, unmodified, against Warbler's /v1 with the
// upstream fixture behind it: Responses (create, stream, multi-turn,
// retrieve), embeddings, moderations, legacy completions, audio
// (transcriptions, speech), unknown endpoints.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentWav } from '../../src/llm/index.ts';
import { startServer, storeKinds, type TestServer } from '../harness.ts';
import { startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.ts';

describe.each(storeKinds())('openai SDK against Warbler on %s', (kind) => {
  let gw: GatewayUnderTest;
  let openai: OpenAI;
  let keyId: string;

  beforeAll(async () => {
    gw = await startGatewayUnderTest(kind);
    const key = await gw.newKey();
    keyId = key.id;
    openai = new OpenAI({ apiKey: key.secret, baseURL: gw.baseURL, maxRetries: 0 });
  });
  afterAll(() => gw?.stop());
  afterEach(() => gw.upstream.reset());

  it('responses.create, then a second turn with previous_response_id, then retrieve', async () => {
    gw.upstream.script({ text: 'Noted: your favourite colour is teal.', usage: { prompt_tokens: 14, completion_tokens: 8 } });
    const first = await openai.responses.create({ model: 'gpt-4o-mini', instructions: 'You are terse.', input: 'My favourite colour is teal.' });
    expect(first.output_text).toBe('Noted: your favourite colour is teal.');
    expect(first.usage).toMatchObject({ input_tokens: 14, output_tokens: 8, total_tokens: 22 });

    gw.upstream.script({ text: 'Teal.' });
    const second = await openai.responses.create({ model: 'gpt-4o-mini', previous_response_id: first.id, input: 'What is my favourite colour?' });
    expect(second.output_text).toBe('Teal.');
    expect(gw.chatBodies()[1].messages).toEqual([
      { role: 'user', content: 'My favourite colour is teal.' },
      { role: 'assistant', content: 'Noted: your favourite colour is teal.' },
      { role: 'user', content: 'What is my favourite colour?' },
    ]);
    expect((await openai.responses.retrieve(second.id)).output_text).toBe('Teal.');
    const rows = await gw.ledger(keyId);
    expect(rows.filter((r) => r.model === 'gpt-4o-mini')).toHaveLength(2);
  });

  it('responses.create({ stream: true }) yields the typed events; responses.stream() assembles the final response', async () => {
    gw.upstream.script({ chunks: ['Hel', 'lo'] });
    const events: string[] = [];
    let text = '';
    for await (const event of await openai.responses.create({ model: 'gpt-4o-mini', input: 'Say hello', stream: true })) {
      events.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('Hello');
    expect(events[0]).toBe('response.created');
    expect(events.at(-1)).toBe('response.completed');

    gw.upstream.script({ chunks: ['Str', 'eamed ', 'answer'] });
    const stream = openai.responses.stream({ model: 'gpt-4o-mini', input: 'Stream please' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('Streamed answer');
    expect(final.output_text).toBe('Streamed answer');
    expect(final.status).toBe('completed');
  });

  it('a function tool round trip through the Responses API', async () => {
    const tools = [{ type: 'function' as const, name: 'lookup_order', parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, strict: true }];
    gw.upstream.script({ text: '', toolCalls: [{ id: 'call_o1', name: 'lookup_order', arguments: '{"id":"A-7"}' }] });
    const first = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Where is order A-7?', tools });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'lookup_order', call_id: 'call_o1', arguments: '{"id":"A-7"}' });

    gw.upstream.script({ text: 'Order A-7 ships tomorrow.' });
    const second = await openai.responses.create({
      model: 'gpt-4o-mini', previous_response_id: first.id, tools,
      input: [{ type: 'function_call_output', call_id: 'call_o1', output: '{"ships":"tomorrow"}' }],
    });
    expect(second.output_text).toBe('Order A-7 ships tomorrow.');
  });

  it('embeddings: text-embedding-3-small is served by default with OPENAI_API_KEY, and billed', async () => {
    const res = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'second text'], dimensions: 16 });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding).toHaveLength(16);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    const rows = await gw.ledger(keyId);
    expect(rows.some((r) => r.model === 'text-embedding-3-small' && r.cost_nanos > 0n)).toBe(true);
  });

  it("moderations are OpenAI's when OpenAI is configured (passed through as they came)", async () => {
    const res = await openai.moderations.create({ model: 'omni-moderation-latest', input: ['I will kill the process', 'hello there'] });
    expect(res.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(res.results[0]!.categories.violence).toBe(true);
    const sent = gw.upstream.requests.find((r) => r.path === '/v1/moderations')!;
    expect(sent.body).toEqual({ model: 'omni-moderation-latest', input: ['I will kill the process', 'hello there'] });
    expect(sent.headers.authorization).toBe('Bearer sk-fixture');
  });

  it('legacy completions are translated to chat, streamed or not', async () => {
    gw.upstream.script({ text: ' world' });
    const res = await openai.completions.create({ model: 'gpt-4o-mini', prompt: 'Hello', max_tokens: 5 });
    expect(res.object).toBe('text_completion');
    expect(res.choices[0]).toMatchObject({ text: ' world', finish_reason: 'stop' });
    expect(gw.chatBodies()[0]).toMatchObject({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5 });

    gw.upstream.script({ chunks: ['a', 'b'] });
    let text = '';
    for await (const chunk of await openai.completions.create({ model: 'gpt-4o-mini', prompt: 'x', stream: true })) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('ab');
  });

  it('audio.transcriptions.create uploads the file and gets json, text and verbose_json back; billed per second', async () => {
    const file = await toFile(silentWav(4), 'meeting.wav', { type: 'audio/wav' });
    const json = await openai.audio.transcriptions.create({ file, model: 'whisper-1', language: 'en' });
    expect(json.text).toContain('meeting.wav');
    const text = await openai.audio.transcriptions.create({ file: await toFile(silentWav(4), 'meeting.wav'), model: 'whisper-1', response_format: 'text' });
    expect(typeof text).toBe('string');
    expect(text).toContain('meeting.wav');
    const verbose = await openai.audio.transcriptions.create({ file: await toFile(silentWav(4), 'meeting.wav'), model: 'whisper-1', response_format: 'verbose_json' });
    expect(verbose.duration).toBeCloseTo(4);
    const rows = (await gw.ledger(keyId)).filter((r) => r.model === 'whisper-1');
    expect(rows.map((r) => [r.billed_unit, r.billed_units, r.cost_nanos])).toEqual([['second', 4, 400_000n], ['second', 4, 400_000n], ['second', 4, 400_000n]]);
  });

  it('audio.speech.create answers audio bytes; billed per character; a chat model is a 400 the SDK raises', async () => {
    const res = await openai.audio.speech.create({ model: 'gpt-4o-mini-tts', input: 'Good morning!', voice: 'alloy', response_format: 'wav' });
    const audio = Buffer.from(await res.arrayBuffer());
    expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const row = (await gw.ledger(keyId)).find((r) => r.model === 'gpt-4o-mini-tts');
    expect(row).toMatchObject({ billed_unit: 'character', billed_units: 13, cost_nanos: 195_000n });
    const err = await openai.audio.speech.create({ model: 'gpt-4o-mini', input: 'hi', voice: 'alloy' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).code).toBe('model_not_supported');
  });

  it("an endpoint Warbler does not serve answers 404 in OpenAI's error shape", async () => {
    const err = await openai.post('/images/generations', { body: { model: 'dall-e-3', prompt: 'a warbler' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });
    expect((err as NotFoundError).message).toContain('POST /v1/images/generations');
  });
});

describe.each(storeKinds())('moderations with no OpenAI provider on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(() => server?.stop());

  it('answers in the same shape, not flagged, with a note that says how to turn moderation on', async () => {
    const openai = new OpenAI({ apiKey: server.masterKey, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const res = await openai.moderations.create({ input: 'anything at all' });
    expect(res.results).toHaveLength(1);
    expect(res.results[0]!.flagged).toBe(false);
    expect(Object.keys(res.results[0]!.categories)).toContain('violence');
    expect((res as unknown as { warbler: { source: string; note: string } }).warbler).toMatchObject({ source: 'none', note: expect.stringContaining('OPENAI_API_KEY') });
  });
});

describe.each(storeKinds())("moderations by the operator's word lists (no OpenAI) on %s", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    const configPath = path.join(tmpdir(), `warbler-moderation-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, ['version: 1', 'guardrails:', '  lists:', '    illegal:', '      action: block', '      words: [代开发票, money laundering]', '  allow: [替代开发票据]', ''].join('\n'));
    server = await startServer(kind, { WARBLER_CONFIG: configPath });
  });
  afterAll(() => server?.stop());

  it('flags listed words (evasions included) under illicit and names the rule; innocent text passes', async () => {
    const openai = new OpenAI({ apiKey: server.masterKey, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const res = await openai.moderations.create({ input: ['能 代.开.發.票 吗', '替代开发票据的流程', 'Money  Laundering tips', 'hello'] });
    expect(res.results.map((r) => r.flagged)).toEqual([true, false, true, false]);
    expect(res.results[0]!.categories.illicit).toBe(true);
    expect((res.results[0] as unknown as { warbler_rules: string[] }).warbler_rules).toEqual(['words:illegal']);
    expect((res as unknown as { warbler: { source: string } }).warbler.source).toBe('local-rules');
  });
});
