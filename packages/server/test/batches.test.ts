import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { embedText, startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import OpenAI, { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { LedgerRow } from '../src/store/index.ts';
import { startServer, storeKinds, type StoreKind, type TestServer } from './harness.ts';
import { createTestDatabase } from './postgres.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Line = { custom_id: string; method?: string; url?: string; body: Record<string, unknown> };

const chatLine = (i: number, model = 'gpt-4o-mini'): Line => ({
  custom_id: `req-${i}`,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model, messages: [{ role: 'user', content: `Question number ${i}` }] },
});
const jsonl = (lines: Line[]) => lines.map((l) => JSON.stringify({ method: 'POST', url: '/v1/chat/completions', ...l })).join('\n') + '\n';

async function upload(client: OpenAI, text: string, name = 'input.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

async function until(client: OpenAI, batchId: string, done: (b: OpenAI.Batch) => boolean, timeoutMs = 15_000): Promise<OpenAI.Batch> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const b = await client.batches.retrieve(batchId);
    if (done(b)) return b;
    if (Date.now() > end) throw new Error(`batch ${batchId} stuck: ${JSON.stringify(b)}`);
    await sleep(25);
  }
}

const finished = (b: OpenAI.Batch) => ['completed', 'failed', 'expired', 'cancelled'].includes(b.status);

async function fileLines(client: OpenAI, fileId: string | null | undefined): Promise<any[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

/** Chat requests the fixture received, by the user message they carried. */
function received(upstream: UpstreamFixture): string[] {
  return upstream.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body.messages.at(-1).content as string);
}

async function ledgerOf(warbler: Warbler, keyId: string): Promise<LedgerRow[]> {
  await warbler.ledger.flush();
  return warbler.store.listLedger('default', { key_id: keyId, limit: 1000 });
}

/** Every line ran once: one 'ok' ledger row per output line, tokens exactly what the fixture reported in that line's body. */
function expectBilledOnce(rows: LedgerRow[], output: any[]) {
  expect(rows.every((r) => r.source === 'batch' && r.outcome === 'ok')).toBe(true);
  expect(rows).toHaveLength(output.length);
  const byRequest = new Map(rows.map((r) => [r.request_id, r]));
  expect(byRequest.size).toBe(rows.length);
  for (const line of output) {
    const row = byRequest.get(line.response.request_id);
    expect(row, `ledger row for ${line.custom_id}`).toBeDefined();
    const usage = line.response.body.usage;
    expect(row).toMatchObject({ prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, estimated: false, model: line.response.body.model });
    expect(row!.cost_nanos > 0n).toBe(true);
  }
}

describe.each(storeKinds())('Batch API on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let client: OpenAI;
  let keyId: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    const configPath = path.join(tmpdir(), `warbler-batches-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, ['version: 1', 'routes:', '  text-embedding-3-small:', '    deployments: [openai/text-embedding-3-small]', ''].join('\n'));
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_CONFIG: configPath });
    const created = await server.warbler.keys.create('default', { name: 'batch tests' });
    keyId = created.key.id;
    client = new OpenAI({ apiKey: created.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  it('runs a batch to completed: output in input order with custom_ids, the fixture’s replies, each line billed once', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => chatLine(i));
    const file = await upload(client, jsonl(lines));
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'input.jsonl', bytes: Buffer.byteLength(jsonl(lines)), status: 'processed' });
    expect(file.id).toMatch(/^file-/);

    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'one' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', endpoint: '/v1/chat/completions', input_file_id: file.id, completion_window: '24h', metadata: { run: 'one' } });
    expect(created.expires_at! - created.created_at).toBe(24 * 3600);

    const done = await until(client, created.id, finished);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 10, completed: 10, failed: 0 }, error_file_id: null });
    for (const t of [done.in_progress_at, done.finalizing_at, done.completed_at]) expect(t).toBeGreaterThanOrEqual(done.created_at);

    const output = await fileLines(client, done.output_file_id);
    expect(output.map((l) => l.custom_id)).toEqual(lines.map((l) => l.custom_id));
    output.forEach((line, i) => {
      expect(line).toMatchObject({ id: expect.stringMatching(/^batch_req_/), error: null, response: { status_code: 200, request_id: line.id } });
      // The fixture echoes the question: each answer belongs to its own line.
      expect(line.response.body.choices[0].message.content).toBe(`Question number ${i}`);
    });
    expect(received(upstream).sort()).toEqual(lines.map((_, i) => `Question number ${i}`).sort());
    expectBilledOnce((await ledgerOf(server.warbler, keyId)).filter((r) => output.some((l) => l.response.request_id === r.request_id)), output);

    const outputFile = await client.files.retrieve(done.output_file_id!);
    expect(outputFile).toMatchObject({ purpose: 'batch_output', filename: `${created.id}_output.jsonl` });
    // Each line's stored result (the model's answer) is sealed at rest; the output above was read through it.
    const stored = await server.warbler.store.roomTables().selectFrom('batch_items').select('result').where('batch_id', '=', created.id).execute();
    expect(stored).toHaveLength(10);
    for (const row of stored) expect(row.result).toMatch(/^wae1\./);
    // The input, output and error files are sealed on disk too (they hold the prompts and the answers), and read back whole.
    const onDisk = await readdir(path.join(server.warbler.config.dataDir, 'gateway-files', 'default'));
    expect(onDisk).toEqual(expect.arrayContaining([file.id, done.output_file_id]));
    for (const name of onDisk) expect((await readFile(path.join(server.warbler.config.dataDir, 'gateway-files', 'default', name))).includes('Question number')).toBe(false);
  });

  it('puts a line whose request fails into the error file and the rest into the output', async () => {
    upstream.script({ model: 'gpt-4o', fault: 'status', status: 400, message: 'The fixture refuses this one.' });
    const lines = [chatLine(0), chatLine(1, 'gpt-4o'), chatLine(2)];
    const file = await upload(client, jsonl(lines));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await until(client, batch.id, finished);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 2, failed: 1 } });
    expect((await fileLines(client, done.output_file_id)).map((l) => l.custom_id)).toEqual(['req-0', 'req-2']);
    const errors = await fileLines(client, done.error_file_id);
    expect(errors).toEqual([
      expect.objectContaining({ custom_id: 'req-1', error: null, response: expect.objectContaining({ status_code: 400, body: { error: expect.objectContaining({ message: expect.stringContaining('The fixture refuses this one.') }) } }) }),
    ]);
  });

  it('runs an embeddings batch', async () => {
    const inputs = ['alpha beta', 'gamma'];
    const lines = inputs.map((input, i) => ({ custom_id: `e${i}`, url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input, dimensions: 8 } }));
    const file = await upload(client, jsonl(lines));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const done = await until(client, batch.id, finished);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 2, failed: 0 } });
    const output = await fileLines(client, done.output_file_id);
    expect(output.map((l) => l.custom_id)).toEqual(['e0', 'e1']);
    output.forEach((l, i) => {
      expect(l.response.body).toMatchObject({ object: 'list', data: [{ object: 'embedding', index: 0 }] });
      const expected = embedText(inputs[i]!, 8);
      (l.response.body.data[0].embedding as number[]).forEach((x, j) => expect(x).toBeCloseTo(expected[j]!, 5));
    });
    const rows = (await ledgerOf(server.warbler, keyId)).filter((r) => output.some((l) => l.response.request_id === r.request_id));
    expect(rows.map((r) => [r.source, r.model, r.outcome, r.prompt_tokens])).toEqual(
      expect.arrayContaining(output.map((l) => ['batch', 'text-embedding-3-small', 'ok', l.response.body.usage.prompt_tokens])),
    );
    expect(rows).toHaveLength(2);
  });

  it('fails a batch whose lines do not validate, naming each line, and runs none of them', async () => {
    const text = [
      JSON.stringify(chatLine(0)),
      JSON.stringify({ ...chatLine(0) }),
      JSON.stringify({ ...chatLine(2), method: 'GET' }),
      JSON.stringify({ ...chatLine(3), url: '/v1/embeddings' }),
      JSON.stringify(chatLine(4, 'no-such-model')),
      JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body: 'hello' }),
    ].join('\n');
    const file = await upload(client, text);
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await until(client, batch.id, finished);
    expect(done.status).toBe('failed');
    expect(done.failed_at).toBeGreaterThan(0);
    expect(done.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ['duplicate_custom_id', 2],
      ['invalid_method', 3],
      ['invalid_url', 4],
      ['model_not_found', 5],
      ['invalid_body', 6],
    ]);
    expect(received(upstream)).toEqual([]);
  });

  it('refuses what the Files and Batch APIs do not take, with the SDK’s error classes', async () => {
    await expect(upload(client, '{"custom_id": "a"}\nnot json\n')).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.files.create({ file: await toFile(Buffer.from('{}\n'), 'x.jsonl'), purpose: 'fine-tune' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const file = await upload(client, jsonl([chatLine(0)]));
    await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions', completion_window: '24h' })).rejects.toMatchObject({ status: 400, param: 'endpoint' });
    await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h' as '24h' })).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    await expect(client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.files.retrieve('file-nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const anonymous = new OpenAI({ apiKey: 'wk-not-a-real-key-at-all-0000', baseURL: `${server.url}/v1`, maxRetries: 0 });
    await expect(anonymous.files.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('lists, retrieves and deletes files, and pages through batches', async () => {
    const a = await upload(client, jsonl([chatLine(0)]), 'a.jsonl');
    const b = await upload(client, jsonl([chatLine(1)]), 'b.jsonl');
    const ids: string[] = [];
    for await (const f of client.files.list({ purpose: 'batch', limit: 1 })) ids.push(f.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(ids.indexOf(a.id)).toBeGreaterThanOrEqual(0);
    expect(await client.files.retrieve(a.id)).toMatchObject({ id: a.id, filename: 'a.jsonl' });
    expect(await client.files.delete(a.id)).toEqual({ id: a.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(a.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const made = [];
    for (let i = 0; i < 3; i++) made.push((await client.batches.create({ input_file_id: b.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    for (const id of made) await until(client, id, finished);
    const page = await client.batches.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.has_more).toBe(true);
    expect(page.data.map((x) => x.id)).toEqual([made[2], made[1]]);
    const seen: string[] = [];
    for await (const x of client.batches.list({ limit: 2 })) seen.push(x.id);
    expect(seen.slice(0, 3)).toEqual([...made].reverse());
  });

  it('cancel mid-run: lines in flight finish, no more start, the batch ends cancelled with partial counts', async () => {
    upstream.script({ ttftMs: 150, times: Infinity });
    const lines = Array.from({ length: 20 }, (_, i) => chatLine(i));
    const file = await upload(client, jsonl(lines));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await until(client, batch.id, (b) => (b.request_counts?.completed ?? 0) >= 4);
    const cancelling = await client.batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await until(client, batch.id, finished);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).toBeGreaterThan(0);
    const completed = done.request_counts!.completed;
    expect(completed).toBeGreaterThanOrEqual(4);
    expect(completed).toBeLessThan(20);
    expect(done.request_counts).toEqual({ total: 20, completed, failed: 0 });
    const output = await fileLines(client, done.output_file_id);
    expect(output).toHaveLength(completed);
    // Every request the fixture saw is in the output: nothing was sent and then dropped.
    await sleep(300);
    expect(received(upstream)).toHaveLength(completed);
    await expect(client.batches.cancel(batch.id)).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('holds the key’s budget: once spent, the remaining lines fail with a clear error and are not sent', async () => {
    const limited = await server.warbler.keys.create('default', { name: 'tiny budget', monthly_budget_usd: 0.000001 });
    const tight = new OpenAI({ apiKey: limited.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    upstream.script({ ttftMs: 100, times: Infinity });
    const lines = Array.from({ length: 10 }, (_, i) => chatLine(i));
    const file = await upload(tight, jsonl(lines));
    const batch = await tight.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await until(tight, batch.id, finished);
    expect(done.status).toBe('completed');
    const { completed, failed } = done.request_counts!;
    // The first lines (at most one round of the per-batch concurrency) run before any cost is known.
    expect(completed).toBeGreaterThanOrEqual(1);
    expect(completed).toBeLessThanOrEqual(4);
    expect(completed + failed).toBe(10);
    const errors = await fileLines(tight, done.error_file_id);
    expect(errors).toHaveLength(failed);
    for (const e of errors) {
      const message = e.error?.message ?? e.response?.body?.error?.message;
      expect(message).toMatch(/monthly budget/);
    }
    expect(received(upstream)).toHaveLength(completed);
    const rows = await ledgerOf(server.warbler, limited.key.id);
    expectBilledOnce(rows, await fileLines(tight, done.output_file_id));
    // The same budget stops /v1 requests too.
    await expect(tight.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
  });
});

describe.each(storeKinds())('A batch across a restart on %s', (kind: StoreKind) => {
  let upstream: UpstreamFixture;
  let dataDir: string;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  const running: Warbler[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-batch-restart-'));
    db = kind === 'postgres' ? await createTestDatabase() : undefined;
  });
  afterAll(async () => {
    for (const w of running) await w.close();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
    await upstream?.close();
  });

  /** A Warbler on this suite's data dir and database, like `warbler serve` would start it again. */
  async function boot(): Promise<{ warbler: Warbler; url: string }> {
    const config = loadConfig({
      WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'test-master-key-0123456789', WARBLER_LOG_LEVEL: 'silent',
      OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url,
      ...(db ? { WARBLER_DATABASE_URL: db.url } : {}),
    });
    const warbler = await buildWarbler(config);
    running.push(warbler);
    return { warbler, url: await warbler.listen() };
  }

  it('stopping the server mid-batch and starting another on the same data: the batch completes and every line ran exactly once', async () => {
    upstream.script({ ttftMs: 250, times: Infinity });
    const first = await boot();
    const created = await first.warbler.keys.create('default', { name: 'restart' });
    const clients = new Map<string, OpenAI>();
    const client = (url: string) => {
      if (!clients.has(url)) clients.set(url, new OpenAI({ apiKey: created.secret, baseURL: `${url}/v1`, maxRetries: 0 }));
      return clients.get(url)!;
    };
    const lines = Array.from({ length: 16 }, (_, i) => chatLine(i));
    const file = await upload(client(first.url), jsonl(lines));
    const batch = await client(first.url).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await until(client(first.url), batch.id, (b) => (b.request_counts?.completed ?? 0) >= 4);
    // Lines are in flight now; close() lets them finish and record, and starts no more.
    expect(first.warbler.batchRunner.running).toBe(1);
    await first.warbler.close();
    running.splice(running.indexOf(first.warbler), 1);
    const sentBefore = received(upstream).length;
    expect(sentBefore).toBeLessThan(16);

    const second = await boot();
    const done = await until(client(second.url), batch.id, finished, 20_000);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 16, completed: 16, failed: 0 } });
    const output = await fileLines(client(second.url), done.output_file_id);
    expect(output.map((l) => l.custom_id)).toEqual(lines.map((l) => l.custom_id));
    output.forEach((line, i) => expect(line.response.body.choices[0].message.content).toBe(`Question number ${i}`));

    const sent = received(upstream);
    expect(sent).toHaveLength(16);
    expect(new Set(sent).size).toBe(16);
    expectBilledOnce(await ledgerOf(second.warbler, created.key.id), output);
  });
});
