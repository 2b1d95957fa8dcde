// Property-based fuzzing of the OpenAI-compatible /v1 routes (issue 10,
// "Build also"): never a 5xx, refusals in OpenAI's error shape that bill and
// store nothing, and another tenant's key still gets its completions (no
// circuit opened, no model paused for everyone). See README.md beside this file.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from '../harness.ts';
import { checkProperty, FuzzFigures, fuzzRuns, hostileString, jsonBody, longRun, multipartJunk, mutated, rawBody, type WireBody } from './arbitraries.ts';
import { describe as describeProbe, numberText, openAiErrorProblem, pathParam, queryOf, send, type Probe } from './probe.ts';
import { snapshotDiff } from './world.ts';

const SCHEMA_RUNS = 120;
const RAW_RUNS = 60;
const timeoutFor = (runs: number) => Math.max(90_000, fuzzRuns(runs) * 1_000);

interface Tenant {
  appId: string;
  secret: string;
  keyId: string;
  key: string;
  fileId: string;
  batchId: string;
}

describe.each(storeKinds())('/v1 fuzz on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  let revokedKey: string;
  let last: Record<string, unknown>;
  const figures = new FuzzFigures();

  async function tenant(secret: string, appId: string): Promise<Tenant> {
    const created = await server.api('POST', '/api/gateway/keys', { name: 'fuzz' }, secret);
    expect(created.status).toBe(201);
    const key = created.body.secret as string;
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${JSON.stringify({ custom_id: 'one', method: 'POST', url: '/v1/chat/completions', body: { model: 'fz-chat', messages: [{ role: 'user', content: 'hi' }] } })}\n`]), 'in.jsonl');
    const file = (await (await fetch(`${server.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })).json()) as { id: string };
    const batch = await fetch(`${server.url}/v1/batches`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    expect(batch.status).toBe(200);
    return { appId, secret, keyId: created.body.key.id, key, fileId: file.id, batchId: ((await batch.json()) as { id: string }).id };
  }

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-v1-fuzz-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, [
      'version: 1',
      'routes:',
      '  fz-chat:',
      '    deployments: [openai/fz-chat]',
      '  fz-embed:',
      '    deployments: [openai/text-embedding-3-small]',
      // /v1/rerank through the OpenAI-compatible adapter's /rerank (the fixture speaks it); audio uses the preset's whisper-1 and tts-1.
      '  fz-rerank:',
      '    deployments: [openai/bge-reranker-v2-m3]',
      'router:',
      '  retry: { max_retries: 1, base_delay_ms: 1, max_delay_ms: 2 }',
      '',
    ].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    a = await tenant(server.appSecret, server.appId);
    const other = await server.warbler.apps.create('Fuzz /v1 victim');
    b = await tenant(other.secret, other.app.id);
    const doomed = await server.api('POST', '/api/gateway/keys', { name: 'revoked' });
    await server.api('POST', `/api/gateway/keys/${doomed.body.key.id}/revoke`);
    revokedKey = doomed.body.secret;
    last = await snapshot();
  });
  afterAll(async () => {
    if (longRun()) console.log(figures.summary(`/v1 fuzz on ${kind}`));
    await server?.stop();
    await upstream?.close();
  });

  const asMaster = async (appId: string, p: string) => {
    const res = await fetch(server.url + p, { headers: { authorization: `Bearer ${server.masterKey}`, 'x-warbler-app': appId }, signal: AbortSignal.timeout(15_000) });
    return res.status === 200 ? res.json() : { status: res.status, text: await res.text() };
  };

  /**
   * What a refused /v1 call must not change: keys, uploaded batch inputs,
   * batches, and the gateway's ledger rows (batches run on their own, so
   * their status, output files and rows are left out).
   */
  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const t of [a, b]) {
      const [keys, files, batches, calls] = await Promise.all([
        asMaster(t.appId, '/api/gateway/keys'),
        asMaster(t.appId, '/v1/files?limit=10000'),
        asMaster(t.appId, '/v1/batches?limit=100'),
        asMaster(t.appId, '/api/usage/calls?limit=500'),
      ]);
      out[`${t.appId} keys`] = keys;
      out[`${t.appId} files`] = ((files as { data?: Array<{ id: string; purpose: string }> }).data ?? [files]).filter((f) => f.purpose === 'batch');
      out[`${t.appId} batches`] = ((batches as { data?: Array<{ id: string }> }).data ?? [batches]).map((x) => x.id);
      out[`${t.appId} ledger`] = ((calls as { calls?: Array<{ id: string; source: string; key_id: string | null }> }).calls ?? [calls])
        // The victim's own calls (key b) are made on purpose after every probe.
        .filter((c) => c.source === 'gateway' && c.key_id !== b.keyId).map((c) => c.id);
    }
    return out;
  }

  const text = fc.string({ minLength: 1, maxLength: 40 });
  const chatBody = () => fc.record({
    model: fc.constantFrom('fz-chat', 'fz-chat', 'local/kb-answer', 'missing-model'),
    messages: fc.array(fc.oneof(
      fc.record({ role: fc.constantFrom('user', 'system', 'assistant', 'developer'), content: text }),
      fc.record({ role: fc.constant('user'), content: fc.constant([{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }]) }),
      fc.record({ role: fc.constant('tool'), tool_call_id: fc.constant('call_1'), content: text }),
    ), { minLength: 1, maxLength: 3 }),
    max_tokens: fc.integer({ min: 1, max: 64 }),
    temperature: fc.constantFrom(0, 1, 2),
    stream: fc.boolean(),
    stream_options: fc.constant({ include_usage: true }),
    n: fc.constant(1),
    stop: fc.constantFrom('\n', ['a', 'b']),
    user: text,
    tools: fc.constant([{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }]),
    response_format: fc.constantFrom({ type: 'text' }, { type: 'json_object' }),
    metadata: fc.constant({ team: 'fuzz' }),
  }, { requiredKeys: ['model', 'messages'] });
  const embedBody = () => fc.record({
    model: fc.constantFrom('fz-embed', 'missing-model'),
    input: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }), fc.constant([1, 2, 3]), fc.constant([[1, 2], [3]])),
    encoding_format: fc.constantFrom('float', 'base64'),
    dimensions: fc.constantFrom(8, 256),
  }, { requiredKeys: ['model', 'input'] });
  const batchBody = () => fc.record({
    input_file_id: fc.constantFrom(a.fileId, b.fileId, 'file-missing'),
    endpoint: fc.constantFrom('/v1/chat/completions', '/v1/embeddings', '/v1/completions'),
    completion_window: fc.constantFrom('24h', '1h'),
    metadata: fc.constant({ run: 'fuzz' }),
  }, { requiredKeys: ['input_file_id', 'endpoint', 'completion_window'] });

  const speechBody = () => fc.record({
    model: fc.constantFrom('tts-1', 'tts-1', 'whisper-1', 'fz-chat', 'missing-model'),
    input: text,
    voice: fc.constantFrom('alloy', 'nova', ''),
    response_format: fc.constantFrom('mp3', 'wav', 'pcm', 'ogg'),
    speed: fc.constantFrom(0.25, 1, 4, 5),
    instructions: text,
  }, { requiredKeys: ['model', 'input', 'voice'] });
  const rerankBody = () => fc.record({
    model: fc.constantFrom('fz-rerank', 'fz-rerank', 'fz-chat', 'missing-model'),
    query: text,
    documents: fc.array(fc.oneof(text, text.map((t) => ({ text: t }))), { minLength: 1, maxLength: 4 }),
    top_n: fc.integer({ min: 1, max: 5 }),
    return_documents: fc.boolean(),
  }, { requiredKeys: ['model', 'query', 'documents'] });

  const fineTuningBody = () => fc.record({
    model: fc.constantFrom('gpt-4o-mini-2024-07-18', 'fz-chat'), training_file: fc.constantFrom('file-abc123', ''), suffix: text,
    hyperparameters: fc.constantFrom({ n_epochs: 3 }, { n_epochs: 'auto' }),
  }, { requiredKeys: ['model', 'training_file'] });

  interface V1Route { method: Probe['method']; path: string; id?: readonly string[]; body?: () => fc.Arbitrary<unknown>; upload?: boolean; query?: () => Record<string, fc.Arbitrary<string>> }
  const routes = (): V1Route[] => [
    { method: 'POST', path: '/v1/chat/completions', body: chatBody },
    { method: 'POST', path: '/v1/embeddings', body: embedBody },
    { method: 'POST', path: '/v1/audio/transcriptions', upload: true },
    { method: 'POST', path: '/v1/audio/speech', body: speechBody },
    { method: 'POST', path: '/v1/rerank', body: rerankBody },
    { method: 'GET', path: '/v1/models' },
    { method: 'GET', path: '/v1/models/:id', id: ['fz-chat', 'fz-embed', 'local/kb-answer', 'missing-model'] },
    { method: 'POST', path: '/v1/files', upload: true },
    { method: 'GET', path: '/v1/files', query: () => ({ purpose: fc.constantFrom('batch', 'batch_output'), limit: numberText, after: fc.constantFrom(a.fileId, b.fileId), order: fc.constantFrom('asc', 'desc') }) },
    { method: 'GET', path: '/v1/files/:id', id: [a.fileId, b.fileId, 'file-missing'] },
    { method: 'GET', path: '/v1/files/:id/content', id: [a.fileId, b.fileId, 'file-missing'] },
    // Never a's own input file: deleting it would only make the rest of the run refuse more.
    { method: 'DELETE', path: '/v1/files/:id', id: [b.fileId, 'file-missing'] },
    { method: 'POST', path: '/v1/batches', body: batchBody },
    { method: 'GET', path: '/v1/batches', query: () => ({ limit: numberText, after: fc.constantFrom(a.batchId, b.batchId) }) },
    { method: 'GET', path: '/v1/batches/:id', id: [a.batchId, b.batchId, 'batch-missing'] },
    { method: 'POST', path: '/v1/batches/:id/cancel', id: [b.batchId, 'batch-missing'] },
    { method: 'POST', path: '/v1/fine_tuning/jobs', body: fineTuningBody },
    { method: 'GET', path: '/v1/fine_tuning/jobs', query: () => ({ limit: numberText, after: fc.constantFrom('ftjob-missing') }) },
    { method: 'GET', path: '/v1/fine_tuning/jobs/:id', id: ['ftjob-missing', 'ftjob-000001'] },
    { method: 'POST', path: '/v1/fine_tuning/jobs/:id/cancel', id: ['ftjob-missing', 'ftjob-000001'] },
    { method: 'GET', path: '/v1/fine_tuning/jobs/:id/events', id: ['ftjob-missing'], query: () => ({ limit: numberText }) },
  ];

  const callers = (): fc.Arbitrary<Pick<Probe, 'credential' | 'headers'>> => fc.oneof(
    { weight: 6, arbitrary: fc.constant({ credential: a.key }) },
    { weight: 1, arbitrary: fc.constantFrom({ credential: server.masterKey, headers: { 'x-warbler-app': a.appId } }, { credential: server.masterKey }) },
    { weight: 1, arbitrary: fc.constantFrom({ credential: revokedKey }, { credential: a.secret }, { credential: undefined }, { credential: `${a.key}x` }) },
    { weight: 1, arbitrary: hostileString.filter((s) => s.length < 5_000 && /^[\x21-\x7e]*$/.test(s)).map((credential) => ({ credential })) },
  );

  function v1Probe(style: 'schema' | 'raw'): fc.Arbitrary<Probe> {
    const ids = [a.fileId, b.fileId, b.batchId, b.keyId, 'fz-embed', 'local/kb-answer', 'whisper-1', 'fz-rerank'];
    return fc.constantFrom(...routes()).chain((route) => {
      const wire: fc.Arbitrary<WireBody | undefined> = style === 'raw'
        ? (route.upload ? fc.oneof(rawBody, multipartJunk) : rawBody)
        : route.body ? fc.oneof({ weight: 2, arbitrary: route.body().map(jsonBody) }, { weight: 5, arbitrary: mutated(route.body(), ids).map(jsonBody) })
          : route.upload ? multipartJunk : fc.constant(undefined);
      return fc.record({
        id: route.id ? pathParam(route.id) : fc.constant(''),
        query: route.query ? queryOf(route.query()) : fc.constant(''),
        wire,
        who: callers(),
      }).map(({ id, query, wire, who }): Probe => ({ method: route.method, path: route.path.replace(':id', id) + query, ...who, wire: route.method === 'GET' ? undefined : wire }));
    });
  }

  async function attack(probe: Probe): Promise<void> {
    const answer = await send(server.url, probe);
    const code = (answer.json as { error?: { code?: string | null; type?: string } } | undefined)?.error;
    figures.record(answer.status, answer.status >= 400 ? String(code?.code ?? code?.type ?? 'no-code') : undefined);
    const what = describeProbe(probe);
    expect(answer.status, `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500);
    // A stream that fails after its 200 carries the error as an event instead; it must never be our internals either.
    expect(answer.text, what).not.toMatch(/Maximum call stack|TypeError|ReferenceError|at .*\.ts:\d+/);
    const now = await snapshot();
    if (answer.status >= 400) {
      expect(openAiErrorProblem(answer), `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeUndefined();
      expect(snapshotDiff(last, now), `${what} was refused with ${answer.status} ${answer.text.slice(0, 200)} but changed`).toEqual([]);
    }
    last = now;
    await victimIsServed();
  }

  /** The other tenant's key still gets a completion: nothing the fuzzer did paused the model for everyone. */
  async function victimIsServed(): Promise<void> {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${b.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fz-chat', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 5 }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status, await res.text()).toBe(200);
  }

  it('valid-ish bodies with a field mutated: no 5xx, OpenAI-shaped refusals that change nothing, the other tenant is served',
    () => checkProperty(`/v1 schema bodies on ${kind}`, v1Probe('schema'), attack, SCHEMA_RUNS), timeoutFor(SCHEMA_RUNS));
  it('raw bodies (random JSON, broken JSON, bytes, wrong content types, multipart junk): the same',
    () => checkProperty(`/v1 raw bodies on ${kind}`, v1Probe('raw'), attack, RAW_RUNS), timeoutFor(RAW_RUNS));
});
