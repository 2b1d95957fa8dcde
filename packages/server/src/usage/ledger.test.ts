import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { seedPriceTable } from '../llm/index.ts';
import { Ledger, LedgerCloseError } from './ledger.ts';
import { MemoryLedgerStore } from './memory-ledger.ts';
import { APP, STORE_KINDS, attempt, captureLog, openTestStore, row, type StoreKind, type TestStore } from './test-support.ts';

const prices = seedPriceTable();
let open: TestStore[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function storeOf(kind: StoreKind): Promise<TestStore> {
  const s = await openTestStore(kind);
  open.push(s);
  return s;
}

const all = (s: TestStore) => s.store.listLedger(APP, { limit: 10_000 });

describe.each(STORE_KINDS)('Ledger on %s', (kind) => {
  it('writes recorded attempts within the flush interval, priced, in one append', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices, flushMs: 20 });
    for (let i = 0; i < 10; i++) ledger.recordAttempt(attempt({ attempt: i + 1 }));
    expect(ledger.pending).toBe(10);
    expect(await all(s)).toHaveLength(0);
    await sleep(80);
    const rows = await all(s);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatchObject({ app_id: APP, agent_id: 'usr_agent', cost_nanos: 27_000n, estimated: false, outcome: 'ok', price_id: 'gpt-4o-mini@2024-10-01' });
    await ledger.close();
  });

  it('close() writes everything accepted at once, and rows recorded after close are still written', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    for (let i = 0; i < 7; i++) ledger.recordAttempt(attempt());
    await ledger.close();
    expect(await all(s)).toHaveLength(7);
    // A stream that finishes during shutdown reports late; its row must not vanish.
    ledger.recordAttempt(attempt());
    await ledger.flush();
    expect(await all(s)).toHaveLength(8);
  });

  it('flush() resolves once earlier rows are stored, while later rows keep coming', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices, flushMs: 60_000 });
    for (let i = 0; i < 5; i++) ledger.recordAttempt(attempt());
    const flushed = ledger.flush();
    for (let i = 0; i < 5; i++) ledger.recordAttempt(attempt());
    await flushed;
    expect((await all(s)).length).toBeGreaterThanOrEqual(5);
    await ledger.close();
    expect(await all(s)).toHaveLength(10);
  });

  it('keeps cost exact beyond 2^53 nanos', async () => {
    const s = await storeOf(kind);
    const ledger = new Ledger({ store: s.store, prices });
    const big = 2n ** 60n + 7n;
    ledger.append(row({ cost_nanos: big, currency: 'CNY' }));
    await ledger.close();
    expect((await all(s))[0]!.cost_nanos).toBe(big);
    expect(await s.store.sumLedgerCost(APP, { since: 0 })).toEqual([{ currency: 'CNY', nanos: big }]);
  });
});

describe('Ledger batching and failure (in memory, where appends can be counted and refused)', () => {
  it('appends at most batchSize rows at a time and starts at once when a batch is full', async () => {
    const store = new MemoryLedgerStore();
    const ledger = new Ledger({ store, prices, flushMs: 60_000 });
    for (let i = 0; i < 250; i++) ledger.recordAttempt(attempt());
    await sleep(10);
    // A full batch starts the writer without waiting for the timer; once running it takes what
    // came in meanwhile too (group commit), so the last 50 rows do not wait for the timer either.
    expect(store.rows).toHaveLength(250);
    expect(store.appends).toBe(3);
    for (let i = 0; i < 30; i++) ledger.recordAttempt(attempt());
    await sleep(10);
    expect(store.rows).toHaveLength(250);
    await ledger.close();
    expect(store.rows).toHaveLength(280);
    expect(store.appends).toBe(4);
  });

  it('keeps rows the store refused and writes them when it recovers, in order', async () => {
    const store = new MemoryLedgerStore();
    const log = captureLog();
    const ledger = new Ledger({ store, prices, log, flushMs: 1 });
    store.failNext = 2;
    const ids = Array.from({ length: 5 }, (_, i) => ledger.recordAttempt(attempt({ attempt: i + 1 }))!.id);
    await sleep(500);
    expect(store.rows.map((r) => r.id)).toEqual(ids);
    expect(log.errors.filter((e) => e.msg.includes('append failed'))).toHaveLength(2);
    await ledger.close();
  });

  it('close() gives up after repeated failures, logs every unwritten row in full and says how many', async () => {
    const store = new MemoryLedgerStore();
    const log = captureLog();
    const ledger = new Ledger({ store, prices, log, flushMs: 60_000, closeAttempts: 2 });
    store.failNext = 1_000;
    ledger.recordAttempt(attempt());
    ledger.recordAttempt(attempt());
    const err = await ledger.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerCloseError);
    expect((err as LedgerCloseError).unwritten).toBe(2);
    const last = log.errors.at(-1)!;
    expect(last.msg).toMatch(/not written at shutdown/);
    expect((last.obj as { rows: Array<{ cost_nanos: string }> }).rows).toHaveLength(2);
    expect((last.obj as { rows: Array<{ cost_nanos: string }> }).rows[0]!.cost_nanos).toBe('27000');
  });

  it('flush() rejects while the store refuses, and the rows stay for the next try', async () => {
    const store = new MemoryLedgerStore();
    const ledger = new Ledger({ store, prices, flushMs: 60_000 });
    store.failNext = 1;
    ledger.recordAttempt(attempt());
    await expect(ledger.flush()).rejects.toThrow(/store is failing/);
    await ledger.flush();
    expect(store.rows).toHaveLength(1);
    await ledger.close();
  });

  it('sheds the oldest rows past maxBuffered, logging them, instead of growing without bound', async () => {
    const store = new MemoryLedgerStore();
    const log = captureLog();
    store.failNext = 1_000;
    const ledger = new Ledger({ store, prices, log, flushMs: 60_000, maxBuffered: 3, closeAttempts: 1 });
    for (let i = 0; i < 5; i++) ledger.append(row({ attempt: i + 1 }));
    expect(ledger.pending).toBeLessThanOrEqual(3);
    expect(log.errors.some((e) => e.msg.includes('buffer full'))).toBe(true);
    await ledger.close().catch(() => {});
  });

  it('refuses a report without a usage context, loudly', async () => {
    const store = new MemoryLedgerStore();
    const log = captureLog();
    const ledger = new Ledger({ store, prices, log });
    expect(ledger.recordAttempt(attempt({ context: undefined }))).toBeUndefined();
    await ledger.close();
    expect(store.rows).toHaveLength(0);
    expect(log.errors[0]!.msg).toMatch(/without a usage context/);
  });

  it('warns once per model without a price, and records it at cost 0', async () => {
    const store = new MemoryLedgerStore();
    const log = captureLog();
    const ledger = new Ledger({ store, prices, log });
    const odd = { requestedModel: 'mystery', model: 'mystery', upstreamModel: 'mystery-7b' };
    ledger.recordAttempt(attempt(odd));
    ledger.recordAttempt(attempt(odd));
    ledger.recordAttempt(attempt({ ...odd, upstreamModel: 'other-7b' }));
    await ledger.close();
    expect(store.rows.map((r) => [r.cost_nanos, r.price_id])).toEqual([
      [0n, null],
      [0n, null],
      [0n, null],
    ]);
    expect(log.warnings.map((w) => (w.obj as { model: string }).model)).toEqual(['mystery-7b', 'other-7b']);
  });

  it('tells subscribers of each row before it is written', async () => {
    const store = new MemoryLedgerStore();
    const ledger = new Ledger({ store, prices });
    const seen: string[] = [];
    const off = ledger.subscribe((r) => seen.push(r.id));
    const r = ledger.recordAttempt(attempt())!;
    expect(seen).toEqual([r.id]);
    off();
    ledger.recordAttempt(attempt());
    expect(seen).toHaveLength(1);
    await ledger.close();
  });

  it('barrier(): rows before it are stamped below the cut, rows after at or above', async () => {
    let clock = 5_000;
    const store = new MemoryLedgerStore();
    const ledger = new Ledger({ store, prices, now: () => clock });
    const before = ledger.recordAttempt(attempt())!;
    const cut = ledger.barrier();
    const after = ledger.recordAttempt(attempt())!;
    expect(before.created_at).toBeLessThan(cut);
    expect(after.created_at).toBeGreaterThanOrEqual(cut);
    clock = 9_000;
    expect(ledger.recordAttempt(attempt())!.created_at).toBe(9_000);
    await ledger.close();
  });
});
