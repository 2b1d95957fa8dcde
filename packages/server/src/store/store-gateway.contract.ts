import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreConflict, StoreNotFound, type Store } from './port.ts';
import type { ApiKeyRow, BatchItemRow, BatchRow, GatewayFileRow } from './port-gateway.ts';

const T0 = 1_700_000_000_000;

/**
 * The gateway part of the Store contract (virtual keys, files, batches), run
 * by describeStoreContract inside its suite on the same store and database.
 */
export function describeGatewayStoreContract(getStore: () => Store): void {
  const uid = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

  async function newApp() {
    const id = uid('app');
    await getStore().createApp({ id, name: id, secret_hash: 'hash', created_at: T0, updated_at: T0 });
    return id;
  }

  function key(appId: string, extra: Partial<ApiKeyRow> = {}): ApiKeyRow {
    return {
      app_id: appId,
      id: uid('key'),
      name: 'CI key',
      key_hash: randomBytes(32).toString('hex'),
      prefix: 'wk-abcd',
      allowed_models: ['gpt-4o-mini', 'doubao-pro'],
      monthly_budget_usd: 12.5,
      rpm: 60,
      tpm: 100_000,
      expires_at: T0 + 86_400_000,
      revoked_at: null,
      metadata: { team: 'search', user: 'ana', nested: { n: 1 } },
      created_at: T0,
      updated_at: T0,
      ...extra,
    };
  }

  function file(appId: string, extra: Partial<GatewayFileRow> = {}): GatewayFileRow {
    const id = uid('file');
    return { app_id: appId, id, purpose: 'batch', filename: 'in.jsonl', bytes: 1234, path: `${appId}/${id}`, key_id: null, created_at: T0, ...extra };
  }

  function batch(appId: string, extra: Partial<BatchRow> = {}): BatchRow {
    return {
      app_id: appId,
      id: uid('batch'),
      key_id: 'k1',
      status: 'validating',
      endpoint: '/v1/chat/completions',
      input_file_id: 'file-in',
      output_file_id: null,
      error_file_id: null,
      completion_window: '24h',
      request_total: 0,
      request_completed: 0,
      request_failed: 0,
      metadata: { job: 'nightly' },
      errors: [],
      created_at: T0,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      expires_at: T0 + 86_400_000,
      ...extra,
    };
  }

  function item(b: BatchRow, line: number, extra: Partial<BatchItemRow> = {}): BatchItemRow {
    return {
      app_id: b.app_id,
      batch_id: b.id,
      line,
      custom_id: `req-${line}`,
      status: 'ok',
      result: { status_code: 200, request_id: `r${line}`, body: { id: 'chatcmpl', choices: [{ message: { content: '你好' } }] } },
      created_at: T0 + line,
      ...extra,
    };
  }

  describe('virtual keys', () => {
    it('creates a key and finds it by id and by hash, JSON and nulls intact', async () => {
      const store = getStore();
      const app = await newApp();
      const k = key(app);
      await store.createApiKey(k);
      expect(await store.getApiKey(app, k.id)).toEqual(k);
      expect(await store.getApiKeyByHash(k.key_hash)).toEqual(k);

      const open = key(app, { allowed_models: null, monthly_budget_usd: null, rpm: null, tpm: null, expires_at: null, metadata: {} });
      await store.createApiKey(open);
      expect(await store.getApiKeyByHash(open.key_hash)).toEqual(open);
      expect(await store.getApiKeyByHash('nope')).toBeUndefined();
    });

    it('is scoped by app, and a hash is unique across apps', async () => {
      const store = getStore();
      const a = await newApp();
      const b = await newApp();
      const k = key(a);
      await store.createApiKey(k);
      expect(await store.getApiKey(b, k.id)).toBeUndefined();
      expect(await store.listApiKeys(b)).toEqual([]);
      await expect(store.createApiKey(key(b, { key_hash: k.key_hash }))).rejects.toBeInstanceOf(StoreConflict);
      await expect(store.createApiKey(key(a, { id: k.id }))).rejects.toBeInstanceOf(StoreConflict);
      await expect(store.createApiKey(key(uid('no_app')))).rejects.toBeInstanceOf(StoreNotFound);
    });

    it('lists newest first, revoked keys included', async () => {
      const store = getStore();
      const app = await newApp();
      const old = key(app, { created_at: T0 + 1 });
      const mid = key(app, { created_at: T0 + 2, revoked_at: T0 + 5 });
      const fresh = key(app, { created_at: T0 + 3 });
      for (const k of [mid, old, fresh]) await store.createApiKey(k);
      expect((await store.listApiKeys(app)).map((k) => k.id)).toEqual([fresh.id, mid.id, old.id]);
      expect((await store.listApiKeys(app))[1]?.revoked_at).toBe(T0 + 5);
    });

    it('updates only the fields in the patch and returns the key after', async () => {
      const store = getStore();
      const app = await newApp();
      const k = key(app);
      await store.createApiKey(k);
      const updated = await store.updateApiKey(app, k.id, { rpm: null, monthly_budget_usd: 0.25, metadata: { team: 'x' }, updated_at: T0 + 7 });
      expect(updated).toEqual({ ...k, rpm: null, monthly_budget_usd: 0.25, metadata: { team: 'x' }, updated_at: T0 + 7 });
      const revoked = await store.updateApiKey(app, k.id, { revoked_at: T0 + 8, allowed_models: null, updated_at: T0 + 8 });
      expect(revoked).toMatchObject({ revoked_at: T0 + 8, allowed_models: null, name: 'CI key', tpm: 100_000 });
      expect(await store.getApiKeyByHash(k.key_hash)).toEqual(revoked);
      expect(await store.updateApiKey(app, 'ghost', { name: 'x', updated_at: T0 })).toBeUndefined();
      const other = await newApp();
      expect(await store.updateApiKey(other, k.id, { name: 'stolen', updated_at: T0 })).toBeUndefined();
      expect((await store.getApiKey(app, k.id))?.name).toBe('CI key');
    });
  });

  describe('gateway files', () => {
    it('creates, gets, deletes and is scoped by app', async () => {
      const store = getStore();
      const app = await newApp();
      const f = file(app, { key_id: 'k1', bytes: 5_000_000_000 });
      await store.createGatewayFile(f);
      expect(await store.getGatewayFile(app, f.id)).toEqual(f);
      expect(await store.getGatewayFile(await newApp(), f.id)).toBeUndefined();
      await expect(store.createGatewayFile(f)).rejects.toBeInstanceOf(StoreConflict);
      await expect(store.createGatewayFile(file(uid('no_app')))).rejects.toBeInstanceOf(StoreNotFound);
      expect(await store.deleteGatewayFile(app, f.id)).toBe(true);
      expect(await store.deleteGatewayFile(app, f.id)).toBe(false);
      expect(await store.getGatewayFile(app, f.id)).toBeUndefined();
    });

    it('lists newest first, by purpose, in pages after an id', async () => {
      const store = getStore();
      const app = await newApp();
      // Two files share a created_at so the id breaks the tie.
      const files = [
        file(app, { id: 'file-a', created_at: T0 + 1 }),
        file(app, { id: 'file-b', created_at: T0 + 2 }),
        file(app, { id: 'file-c', created_at: T0 + 2 }),
        file(app, { id: 'file-d', created_at: T0 + 3, purpose: 'batch_output' }),
        file(app, { id: 'file-e', created_at: T0 + 4 }),
      ];
      for (const f of files) await store.createGatewayFile(f);
      const ids = async (page: { purpose?: string; limit: number; after?: string }) => (await store.listGatewayFiles(app, page)).map((f) => f.id);
      expect(await ids({ limit: 10 })).toEqual(['file-e', 'file-d', 'file-c', 'file-b', 'file-a']);
      expect(await ids({ limit: 2 })).toEqual(['file-e', 'file-d']);
      expect(await ids({ limit: 2, after: 'file-d' })).toEqual(['file-c', 'file-b']);
      expect(await ids({ limit: 2, after: 'file-c' })).toEqual(['file-b', 'file-a']);
      expect(await ids({ limit: 10, purpose: 'batch' })).toEqual(['file-e', 'file-c', 'file-b', 'file-a']);
      expect(await ids({ limit: 10, purpose: 'batch_output' })).toEqual(['file-d']);
      expect(await ids({ limit: 10, after: 'file-gone' })).toEqual([]);
      expect(await ids({ limit: 0 })).toEqual([]);
    });
  });

  describe('stored responses', () => {
    it('puts, gets, replaces status and body, deletes, scoped by app', async () => {
      const appId = await newApp();
      const other = await newApp();
      const row = {
        app_id: appId, id: uid('resp'), key_id: 'key_1', status: 'completed', previous_response_id: null,
        body: { id: 'r', object: 'response', output: [{ type: 'message', content: [{ type: 'output_text', text: '你好' }] }] },
        input: [{ type: 'message', role: 'user', content: 'hi' }],
        history: [{ role: 'system', content: 'be brief' }],
        created_at: T0,
      };
      await getStore().putResponse(row);
      expect(await getStore().getResponse(appId, row.id)).toEqual(row);
      expect(await getStore().getResponse(other, row.id)).toBeUndefined();
      await getStore().putResponse({ ...row, status: 'cancelled', body: { id: 'r', status: 'cancelled' } });
      expect(await getStore().getResponse(appId, row.id)).toMatchObject({ status: 'cancelled', body: { status: 'cancelled' }, input: row.input });
      expect(await getStore().deleteResponse(other, row.id)).toBe(false);
      expect(await getStore().deleteResponse(appId, row.id)).toBe(true);
      expect(await getStore().getResponse(appId, row.id)).toBeUndefined();
      await expect(getStore().putResponse({ ...row, app_id: uid('no_app') })).rejects.toBeInstanceOf(StoreNotFound);
    });

    it('puts several responses in one go, replacing status and body of one already there; none when one names no app', async () => {
      const appId = await newApp();
      const row = (id: string, status = 'completed') => ({
        app_id: appId, id, key_id: null, status, previous_response_id: null,
        body: { id, status }, input: [{ type: 'message', role: 'user', content: id }], history: [], created_at: T0,
      });
      const [a, b, c] = [uid('resp'), uid('resp'), uid('resp')];
      await getStore().putResponse(row(a, 'in_progress'));
      await getStore().putResponses([row(a), row(b), row(c, 'cancelled')]);
      expect(await getStore().getResponse(appId, a)).toEqual(row(a));
      expect(await getStore().getResponse(appId, b)).toEqual(row(b));
      expect(await getStore().getResponse(appId, c)).toMatchObject({ status: 'cancelled', body: { status: 'cancelled' } });
      const d = uid('resp');
      await expect(getStore().putResponses([row(d), { ...row(uid('resp')), app_id: uid('no_app') }])).rejects.toBeInstanceOf(StoreNotFound);
      expect(await getStore().getResponse(appId, d)).toBeUndefined();
      await getStore().putResponses([]);
    });

    it('stores a response body given as JSON text as that text', async () => {
      const appId = await newApp();
      const id = uid('resp');
      const text = JSON.stringify({ id, object: 'response', status: 'completed', output: [{ type: 'message', content: [{ text: 'é ✓' }] }] });
      await getStore().putResponses([{ app_id: appId, id, key_id: null, status: 'completed', previous_response_id: null, body: {}, bodyJson: text, input: [], history: [], created_at: T0 }]);
      expect((await getStore().getResponse(appId, id))?.body).toEqual(JSON.parse(text));
    });
  });

  describe('batches', () => {
    it('creates and gets a batch with its JSON fields, scoped by app', async () => {
      const store = getStore();
      const app = await newApp();
      const b = batch(app, { errors: [{ code: 'invalid_json', message: 'Line 3 is not JSON', line: 3, param: null }] });
      await store.createBatch(b);
      expect(await store.getBatch(app, b.id)).toEqual(b);
      expect(await store.getBatch(await newApp(), b.id)).toBeUndefined();
      await expect(store.createBatch(b)).rejects.toBeInstanceOf(StoreConflict);
      await expect(store.createBatch(batch(uid('no_app')))).rejects.toBeInstanceOf(StoreNotFound);
    });

    it('lists newest first in pages after an id', async () => {
      const store = getStore();
      const app = await newApp();
      for (const [id, at] of [['batch_a', 1], ['batch_b', 2], ['batch_c', 2], ['batch_d', 3]] as const) {
        await store.createBatch(batch(app, { id, created_at: T0 + at }));
      }
      const ids = async (page: { limit: number; after?: string }) => (await store.listBatches(app, page)).map((b) => b.id);
      expect(await ids({ limit: 10 })).toEqual(['batch_d', 'batch_c', 'batch_b', 'batch_a']);
      expect(await ids({ limit: 2, after: 'batch_d' })).toEqual(['batch_c', 'batch_b']);
      expect(await ids({ limit: 2, after: 'batch_b' })).toEqual(['batch_a']);
      expect(await ids({ limit: 2, after: 'nope' })).toEqual([]);
    });

    it('updateBatch applies a patch, and only from the given statuses', async () => {
      const store = getStore();
      const app = await newApp();
      const b = batch(app);
      await store.createBatch(b);
      const started = await store.updateBatch(app, b.id, { status: 'in_progress', in_progress_at: T0 + 1, request_total: 3 }, ['validating']);
      expect(started).toEqual({ ...b, status: 'in_progress', in_progress_at: T0 + 1, request_total: 3 });
      // A second worker trying the same transition loses.
      expect(await store.updateBatch(app, b.id, { status: 'in_progress', in_progress_at: T0 + 2 }, ['validating'])).toBeUndefined();
      expect((await store.getBatch(app, b.id))?.in_progress_at).toBe(T0 + 1);

      const patched = await store.updateBatch(app, b.id, { request_completed: 2, metadata: { job: 'x' }, errors: [{ code: 'c', message: 'm' }] });
      expect(patched).toMatchObject({ request_completed: 2, metadata: { job: 'x' }, errors: [{ code: 'c', message: 'm' }] });
      expect(await store.updateBatch(app, b.id, {}, ['in_progress'])).toMatchObject({ id: b.id, status: 'in_progress' });
      expect(await store.updateBatch(app, b.id, {}, ['completed'])).toBeUndefined();
      expect(await store.updateBatch(app, b.id, { status: 'cancelled' }, [])).toBeUndefined();
      expect(await store.updateBatch(app, 'ghost', { status: 'cancelled' })).toBeUndefined();
      expect(await store.updateBatch(await newApp(), b.id, { status: 'cancelled' })).toBeUndefined();
    });

    it('a cancel racing a finish: exactly one wins', async () => {
      const store = getStore();
      const app = await newApp();
      const b = batch(app, { status: 'in_progress' });
      await store.createBatch(b);
      const [cancel, finish] = await Promise.all([
        store.updateBatch(app, b.id, { status: 'cancelling', cancelling_at: T0 + 1 }, ['validating', 'in_progress']),
        store.updateBatch(app, b.id, { status: 'finalizing', finalizing_at: T0 + 1 }, ['in_progress']),
      ]);
      expect([cancel, finish].filter(Boolean)).toHaveLength(1);
    });

    it('listBatchesByStatus crosses apps, oldest first', async () => {
      const store = getStore();
      const a = await newApp();
      const c = await newApp();
      // Far in the future so rows other tests left behind sort before these.
      const base = T0 * 2;
      const b1 = batch(a, { status: 'in_progress', created_at: base + 2 });
      const b2 = batch(c, { status: 'validating', created_at: base + 1 });
      const b3 = batch(a, { status: 'completed', created_at: base + 3 });
      const b4 = batch(c, { status: 'finalizing', created_at: base + 4 });
      for (const b of [b1, b2, b3, b4]) await store.createBatch(b);
      const mine = new Set([b1.id, b2.id, b3.id, b4.id]);
      const found = (await store.listBatchesByStatus(['validating', 'in_progress', 'finalizing'], 10_000)).filter((b) => mine.has(b.id));
      expect(found.map((b) => b.id)).toEqual([b2.id, b1.id, b4.id]);
      expect(await store.listBatchesByStatus([], 10)).toEqual([]);
      expect(await store.listBatchesByStatus(['validating'], 0)).toEqual([]);
    });
  });

  describe('batch items', () => {
    it('records lines once, lists them by line, and keeps the first result of a line', async () => {
      const store = getStore();
      const app = await newApp();
      const b = batch(app);
      await store.createBatch(b);
      await store.putBatchItems([item(b, 2), item(b, 0)]);
      await store.putBatchItems([
        item(b, 0, { status: 'error', result: { code: 'rerun', message: 'must not replace' } }),
        item(b, 1, { status: 'error', result: { code: 'rate_limit_exceeded', message: 'Slow down' } }),
      ]);
      await store.putBatchItems([]);
      const items = await store.listBatchItems(app, b.id);
      expect(items.map((i) => [i.line, i.status])).toEqual([[0, 'ok'], [1, 'error'], [2, 'ok']]);
      expect(items[0]).toEqual(item(b, 0));
      expect(items[1]?.result).toEqual({ code: 'rate_limit_exceeded', message: 'Slow down' });
      expect(await store.listBatchItems(await newApp(), b.id)).toEqual([]);
    });

    it('takes many lines at once and needs the batch to exist', async () => {
      const store = getStore();
      const app = await newApp();
      const b = batch(app);
      await store.createBatch(b);
      await store.putBatchItems(Array.from({ length: 1_203 }, (_, i) => item(b, i)));
      const items = await store.listBatchItems(app, b.id);
      expect(items).toHaveLength(1_203);
      expect(items[1_202]?.custom_id).toBe('req-1202');
      await expect(store.putBatchItems([item(batch(app), 0)])).rejects.toBeInstanceOf(StoreNotFound);
    });
  });

  describe('leases', () => {
    it('gives a lease to one owner until it expires, renews it for that owner, and frees it when dropped', async () => {
      const store = getStore();
      const name = `batch:${Math.random().toString(36).slice(2)}`;
      const [a, b] = await Promise.all([store.takeLease(name, 'node-a', 1_000, 30_000), store.takeLease(name, 'node-b', 1_000, 30_000)]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const [holder, other] = a ? ['node-a', 'node-b'] : ['node-b', 'node-a'];
      expect(await store.takeLease(name, other, 20_000, 30_000)).toBe(false);
      expect(await store.takeLease(name, holder, 20_000, 30_000)).toBe(true);
      // Renewed until 50 000: still held at 40 000, free after.
      expect(await store.takeLease(name, other, 40_000, 30_000)).toBe(false);
      expect(await store.takeLease(name, other, 50_001, 30_000)).toBe(true);
      await store.dropLease(name, holder);
      expect(await store.takeLease(name, holder, 50_002, 30_000)).toBe(false);
      await store.dropLease(name, other);
      expect(await store.takeLease(name, holder, 50_003, 30_000)).toBe(true);
    });

    it('lists leases by name or by prefix, with their owner and end', async () => {
      const store = getStore();
      const tag = Math.random().toString(36).slice(2);
      await store.takeLease(`node:${tag}:a`, 'a', 1_000, 5_000);
      await store.takeLease(`node:${tag}:b`, 'b', 1_000, 9_000);
      await store.takeLease(`reply:${tag}`, 'a', 1_000, 5_000);
      const nodes = (await store.listLeases({ prefix: `node:${tag}:` })).sort((x, y) => x.name.localeCompare(y.name));
      expect(nodes).toEqual([{ name: `node:${tag}:a`, owner: 'a', until: 6_000 }, { name: `node:${tag}:b`, owner: 'b', until: 10_000 }]);
      expect(await store.listLeases({ names: [`reply:${tag}`, 'reply:none'] })).toEqual([{ name: `reply:${tag}`, owner: 'a', until: 6_000 }]);
      expect(await store.listLeases({ names: [] })).toEqual([]);
    });
  });
}
