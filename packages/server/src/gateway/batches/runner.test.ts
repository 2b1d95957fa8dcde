import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type BatchRow, type Store } from '../../store/index.ts';
import type { GatewayCaller } from '../caller.ts';
import { GatewayFiles } from './files.ts';
import { BatchRunner, type LineCall, type LineResult } from './runner.ts';
import { Batches } from './service.ts';

const dir = mkdtempSync(join(tmpdir(), 'warbler-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const APP = 'app';
const master: GatewayCaller = { appId: APP, key: null, requestId: 'r' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const jsonl = (n: number, model = 'm') =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `q${i}` }] } }),
  ).join('\n');

const promptOf = (call: LineCall) => (call.body.messages as Array<{ content: string }>)[0]!.content;
const answer = (call: LineCall): LineResult => ({ kind: 'response', statusCode: 200, body: { answer: promptOf(call) } });

/** An executor whose calls a test finishes by hand, or after a delay. */
class FakeUpstream {
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  pending = new Map<string, (r: LineResult) => void>();

  constructor(private readonly behave: (call: LineCall, attempt: number) => LineResult | Promise<LineResult> | 'hold' = answer) {}

  readonly execute = async (call: LineCall): Promise<LineResult> => {
    const prompt = promptOf(call);
    this.calls.push(prompt);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const r = this.behave(call, this.calls.filter((c) => c === prompt).length);
      if (r !== 'hold') return await r;
      return await new Promise<LineResult>((resolve) => {
        this.pending.set(prompt, resolve);
        call.signal.addEventListener('abort', () => resolve({ kind: 'aborted' }), { once: true });
      });
    } finally {
      this.inFlight -= 1;
    }
  };

  release(prompt: string): void {
    const resolve = this.pending.get(prompt);
    this.pending.delete(prompt);
    resolve?.({ kind: 'response', statusCode: 200, body: { answer: prompt } });
  }
}

let n = 0;
const open: Array<{ store: Store; runners: BatchRunner[] }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    for (const r of o.runners) await r.stop();
    await o.store.close();
  }
});

async function setup() {
  const store = openSqliteStore(join(dir, `runner-${++n}.db`));
  await store.migrate();
  await store.createApp({ id: APP, name: 'A', secret_hash: 'h', created_at: 1, updated_at: 1 });
  const files = new GatewayFiles({ store, dir: join(dir, `files-${n}`) });
  const batches = new Batches({ store, files });
  const entry = { store, runners: [] as BatchRunner[] };
  open.push(entry);
  const runner = (upstream: FakeUpstream, options: { perBatch?: number; maxConcurrent?: number; stopGraceMs?: number; now?: () => number; leaseMs?: number } = {}) => {
    const r = new BatchRunner({ store, files, execute: upstream.execute, models: () => ['m'], pollMs: 20, ...options });
    batches.signals = r;
    entry.runners.push(r);
    return r;
  };
  const submit = async (text: string, caller = master) => {
    const staged = await files.stage(APP, Readable.from([text]), () => false);
    const file = await files.commit(caller, staged, { filename: 'in.jsonl', purpose: 'batch' });
    return batches.create(caller, { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  };
  const until = async (id: string, done: (b: BatchRow) => boolean, timeoutMs = 5_000): Promise<BatchRow> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const b = (await store.getBatch(APP, id))!;
      if (done(b)) return b;
      if (Date.now() > end) throw new Error(`batch stuck in ${b.status}: ${JSON.stringify(b)}`);
      await sleep(10);
    }
  };
  const lines = (fileId: string | null) =>
    fileId === null ? [] : readFileSync(join(dir, `files-${n}`, APP, fileId), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  return { store, files, batches, runner, submit, until, lines };
}

describe('BatchRunner', () => {
  it('runs every line with bounded concurrency and writes the output in input order', async () => {
    const { runner, submit, until, lines } = await setup();
    const upstream = new FakeUpstream(async (call) => {
      // Later lines answer sooner, so completion order is not input order.
      await sleep(30 - Number(promptOf(call).slice(1)) * 2);
      return answer(call);
    });
    await runner(upstream, { perBatch: 3 }).start();
    const batch = await submit(jsonl(12));
    const done = await until(batch.id, (b) => b.status === 'completed');
    expect(upstream.maxInFlight).toBe(3);
    expect(done).toMatchObject({ request_total: 12, request_completed: 12, request_failed: 0, error_file_id: null });
    expect(done.in_progress_at).not.toBeNull();
    expect(done.finalizing_at).not.toBeNull();
    const out = lines(done.output_file_id);
    expect(out.map((l) => l.custom_id)).toEqual(Array.from({ length: 12 }, (_, i) => `c${i}`));
    expect(out[5]).toMatchObject({ id: expect.stringMatching(/^batch_req_/), response: { status_code: 200, body: { answer: 'q5' } }, error: null });
    expect(out[5]!.response.request_id).toBe(out[5]!.id);
    expect(upstream.calls.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `q${i}`).sort());
  });

  it('holds a global cap across batches', async () => {
    const { runner, submit, until } = await setup();
    const upstream = new FakeUpstream(async (call) => {
      await sleep(15);
      return answer(call);
    });
    await runner(upstream, { perBatch: 4, maxConcurrent: 5 }).start();
    const ids = await Promise.all([submit(jsonl(10)), submit(jsonl(10)), submit(jsonl(10))]);
    for (const b of ids) await until(b.id, (x) => x.status === 'completed');
    expect(upstream.maxInFlight).toBe(5);
  });

  it("waits out the key's own rate limit instead of failing the line", async () => {
    const { runner, submit, until } = await setup();
    const upstream = new FakeUpstream((call, attempt) => (promptOf(call) === 'q1' && attempt <= 2 ? { kind: 'limited', retryAfterMs: 20 } : answer(call)));
    await runner(upstream).start();
    const batch = await submit(jsonl(3));
    const done = await until(batch.id, (b) => b.status === 'completed');
    expect(done).toMatchObject({ request_completed: 3, request_failed: 0 });
    expect(upstream.calls.filter((c) => c === 'q1')).toHaveLength(3);
  });

  it('fails the line that found the budget spent, and every later line without sending it', async () => {
    const { runner, submit, until, lines } = await setup();
    const spent = { error: { message: 'This API key has reached its monthly budget of $1.00.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    const upstream = new FakeUpstream((call) =>
      promptOf(call) === 'q2' ? { kind: 'budget', statusCode: 429, body: spent, message: spent.error.message } : answer(call),
    );
    await runner(upstream, { perBatch: 1 }).start();
    const batch = await submit(jsonl(6));
    const done = await until(batch.id, (b) => b.status === 'completed');
    expect(upstream.calls).toEqual(['q0', 'q1', 'q2']);
    expect(done).toMatchObject({ request_total: 6, request_completed: 2, request_failed: 4 });
    const errors = lines(done.error_file_id);
    expect(errors.map((l) => l.custom_id)).toEqual(['c2', 'c3', 'c4', 'c5']);
    expect(errors[0]).toMatchObject({ response: { status_code: 429, body: spent }, error: null });
    expect(errors[1]).toMatchObject({ response: null, error: { code: 'budget_exceeded', message: spent.error.message } });
  });

  it('cancel: no new line starts, lines in flight finish, the batch ends cancelled with what was done', async () => {
    const { runner, batches, submit, until, lines } = await setup();
    const upstream = new FakeUpstream(() => 'hold');
    await runner(upstream, { perBatch: 2 }).start();
    const batch = await submit(jsonl(8));
    await until(batch.id, () => upstream.pending.size === 2);
    upstream.release('q0');
    await until(batch.id, (b) => b.request_completed === 1 || upstream.pending.size === 2);
    const cancelling = await batches.cancel(master, batch.id);
    expect(cancelling.status).toBe('cancelling');
    // The lines in flight still count.
    for (const p of [...upstream.pending.keys()]) upstream.release(p);
    const done = await until(batch.id, (b) => b.status === 'cancelled');
    expect(upstream.calls).toHaveLength(3);
    expect(done).toMatchObject({ request_total: 8, request_completed: 3, request_failed: 0 });
    expect(done.cancelling_at).not.toBeNull();
    expect(done.cancelled_at).not.toBeNull();
    expect(lines(done.output_file_id).map((l) => l.custom_id)).toEqual(['c0', 'c1', 'c2']);
    // A finished batch cannot be cancelled, and cancelling twice returns it as it is.
    expect((await batches.cancel(master, batch.id)).status).toBe('cancelled');
  });

  it('a cancel that loses the race to finalizing is refused, and the batch completes', async () => {
    const { runner, batches, submit, until } = await setup();
    await runner(new FakeUpstream()).start();
    const batch = await submit(jsonl(2));
    await until(batch.id, (b) => b.status === 'completed');
    await expect(batches.cancel(master, batch.id)).rejects.toMatchObject({ status: 409, code: 'batch_not_cancellable' });
  });

  it('a stop lets lines in flight finish and record; the next start runs only the rest, each line once', async () => {
    const { runner, submit, until, lines } = await setup();
    const upstream = new FakeUpstream(async (call) => {
      await sleep(40);
      return answer(call);
    });
    const first = runner(upstream, { perBatch: 3 });
    await first.start();
    const batch = await submit(jsonl(10));
    await until(batch.id, () => upstream.calls.length >= 4);
    await first.stop();
    const between = await until(batch.id, () => true);
    expect(between.status).toBe('in_progress');
    const ranBefore = upstream.calls.length;
    expect(ranBefore).toBeLessThan(10);
    expect(between.request_completed).toBe(ranBefore);

    await runner(upstream).start();
    const done = await until(batch.id, (b) => b.status === 'completed');
    expect(done.request_completed).toBe(10);
    expect(upstream.calls.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `q${i}`).sort());
    expect(lines(done.output_file_id).map((l) => l.custom_id)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
  });

  it('a line still running after the stop grace is abandoned unrecorded and runs again after the restart', async () => {
    const { runner, submit, until } = await setup();
    const upstream = new FakeUpstream((call, attempt) => (promptOf(call) === 'q0' && attempt === 1 ? 'hold' : answer(call)));
    const first = runner(upstream, { perBatch: 1, stopGraceMs: 30 });
    await first.start();
    const batch = await submit(jsonl(2));
    await until(batch.id, () => upstream.pending.size === 1);
    await first.stop();
    expect((await until(batch.id, () => true)).request_completed).toBe(0);
    await runner(upstream).start();
    const done = await until(batch.id, (b) => b.status === 'completed');
    expect(done.request_completed).toBe(2);
    expect(upstream.calls).toEqual(['q0', 'q0', 'q1']);
  });

  it('expires a batch whose window ends mid-run: done lines in the output, the rest batch_expired in the error file', async () => {
    const { runner, submit, until, lines } = await setup();
    const upstream = new FakeUpstream((call) => (promptOf(call) === 'q0' ? answer(call) : 'hold'));
    let late = 0;
    await runner(upstream, { perBatch: 2, now: () => Date.now() + late }).start();
    const batch = await submit(jsonl(4));
    await until(batch.id, (b) => b.request_completed === 1 && upstream.pending.size === 2);
    late = 25 * 60 * 60 * 1000;
    // Lines already sent finish (as on a cancel); none starts after the window.
    upstream.release('q1');
    upstream.release('q2');
    const done = await until(batch.id, (b) => b.status === 'expired');
    expect(done.expired_at).not.toBeNull();
    expect(done).toMatchObject({ request_completed: 3, request_failed: 1 });
    expect(upstream.calls).toEqual(['q0', 'q1', 'q2']);
    expect(lines(done.output_file_id).map((l) => l.custom_id)).toEqual(['c0', 'c1', 'c2']);
    expect(lines(done.error_file_id)).toEqual([
      expect.objectContaining({ custom_id: 'c3', response: null, error: expect.objectContaining({ code: 'batch_expired' }) }),
    ]);
  });

  it('a revoked key stops the lines it has not sent yet', async () => {
    const { store, submit, until, lines } = await setup();
    const now = Date.now();
    const key = { app_id: APP, id: 'k1', name: 'k', key_hash: 'h1', prefix: 'wk-', allowed_models: null, monthly_budget_usd: null, rpm: null, tpm: null, expires_at: null, revoked_at: null, metadata: {}, created_at: now, updated_at: now };
    await store.createApiKey(key);
    const upstream = new FakeUpstream((call) => (promptOf(call) === 'q0' ? 'hold' : answer(call)));
    const r = new BatchRunner({ store, files: new GatewayFiles({ store, dir: join(dir, `files-${n}`) }), execute: upstream.execute, models: () => ['m'], pollMs: 20, perBatch: 1, keyRefreshMs: 0 });
    await r.start();
    const batch = await submit(jsonl(3), { appId: APP, key, requestId: 'x' });
    r.wake();
    await until(batch.id, () => upstream.pending.size === 1);
    await store.updateApiKey(APP, 'k1', { revoked_at: Date.now(), updated_at: Date.now() });
    upstream.release('q0');
    const done = await until(batch.id, (b) => b.status === 'completed');
    await r.stop();
    expect(done).toMatchObject({ request_completed: 1, request_failed: 2 });
    expect(lines(done.error_file_id)[0]).toMatchObject({ custom_id: 'c1', error: { code: 'invalid_api_key', message: expect.stringContaining('was revoked') } });
  });

  it('fails a batch whose lines do not validate, listing the lines', async () => {
    const { runner, submit, until } = await setup();
    const upstream = new FakeUpstream();
    await runner(upstream).start();
    const text = [jsonl(1), JSON.stringify({ custom_id: 'c0', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: 'x' }] } }), JSON.stringify({ custom_id: 'z', method: 'POST', url: '/v1/chat/completions', body: { model: 'other', messages: [{ role: 'user', content: 'x' }] } })].join('\n');
    const batch = await submit(text);
    const done = await until(batch.id, (b) => b.status === 'failed');
    expect(done.failed_at).not.toBeNull();
    expect(done.errors).toEqual([
      expect.objectContaining({ code: 'duplicate_custom_id', line: 2 }),
      expect.objectContaining({ code: 'model_not_found', line: 3 }),
    ]);
    expect(upstream.calls).toEqual([]);
  });
});

describe('BatchRunner on several nodes', () => {
  it('runs each line once when two nodes drive batches from one store', async () => {
    const { runner, submit, until } = await setup();
    const upstream = new FakeUpstream(async (call) => {
      await sleep(2);
      return answer(call);
    });
    const [a, b] = [runner(upstream), runner(upstream)];
    await Promise.all([a.start(), b.start()]);
    const batches = await Promise.all([submit(jsonl(30)), submit(jsonl(30))]);
    a.wake();
    b.wake();
    for (const batch of batches) expect(await until(batch.id, (x) => x.status === 'completed', 10_000)).toMatchObject({ request_completed: 30 });
    expect(upstream.calls).toHaveLength(60);
    expect(new Set(upstream.calls).size).toBe(30);
    expect(upstream.calls.filter((c) => c === 'q0')).toHaveLength(2);
  });

  it('resumes a batch whose node stopped renewing its lease once the lease runs out', async () => {
    const { store, runner, submit, until } = await setup();
    const upstream = new FakeUpstream();
    const batch = await submit(jsonl(5));
    // A node that took the batch and died: its lease lasts 400 ms more.
    const leasedAt = Date.now();
    expect(await store.takeLease(`batch:${APP}:${batch.id}`, 'dead-node', leasedAt, 400)).toBe(true);
    const r = runner(upstream, { leaseMs: 400 });
    await r.start();
    expect(upstream.calls).toEqual([]);
    const done = await until(batch.id, (x) => x.status === 'completed');
    expect(Date.now() - leasedAt).toBeGreaterThanOrEqual(400);
    expect(done).toMatchObject({ request_completed: 5 });
    expect(upstream.calls.sort()).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
  });
});
