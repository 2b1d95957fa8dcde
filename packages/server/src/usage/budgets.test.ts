import { afterEach, describe, expect, it } from 'vitest';
import { seedPriceTable } from '../llm/index.ts';
import type { LedgerRow } from '../store/index.ts';
import { Budgets } from './budgets.ts';
import { Ledger, type InFlightListener } from './ledger.ts';
import { MemoryLedgerStore, type LedgerStorePort } from './memory-ledger.ts';
import { CurrencyRates } from './money.ts';
import { APP, OTHER_APP, STORE_KINDS, openTestStore, row, type StoreKind, type TestStore } from './test-support.ts';

const NOV = Date.parse('2025-11-15T10:00:00Z');
const USD = 1_000_000_000n;

let open: TestStore[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

/** Counts the store's sum queries, so tests can prove checks are served from memory. */
function counting(store: LedgerStorePort) {
  const counter = { sums: 0 };
  const wrapped: LedgerStorePort = {
    appendLedger: (rows) => store.appendLedger(rows),
    listLedger: (app, f) => store.listLedger(app, f),
    sumLedgerCost: (app, f) => {
      counter.sums += 1;
      return store.sumLedgerCost(app, f);
    },
  };
  return { store: wrapped, counter };
}

async function setup(kind: StoreKind, options: { rates?: CurrencyRates; history?: LedgerRow[] } = {}) {
  const s = await openTestStore(kind);
  open.push(s);
  if (options.history?.length) await s.store.appendLedger(options.history);
  const clock = { now: NOV };
  const { store, counter } = counting(s.store);
  const ledger = new Ledger({ store, prices: seedPriceTable(), now: () => clock.now, flushMs: 5 });
  const budgets = new Budgets({ store, ledger, now: () => clock.now, ...(options.rates ? { rates: options.rates } : {}) });
  return { store, ledger, budgets, clock, counter };
}

const agent = { agentId: 'usr_agent' } as const;

describe.each(STORE_KINDS)('Budgets on %s', (kind) => {
  it('seeds from this month of the store (UTC), once, and keeps a running total after', async () => {
    const { ledger, budgets, counter } = await setup(kind, {
      history: [
        row({ cost_nanos: 3n * USD, created_at: Date.parse('2025-11-01T00:00:00Z') }),
        // Last month, another agent, another app, a gateway key: none of them count.
        row({ cost_nanos: 100n * USD, created_at: Date.parse('2025-10-31T23:59:59.999Z') }),
        row({ cost_nanos: 100n * USD, agent_id: 'usr_other' }),
        row({ cost_nanos: 100n * USD, app_id: OTHER_APP }),
        row({ cost_nanos: 100n * USD, agent_id: null, key_id: 'key_1', source: 'gateway' }),
      ],
    });
    expect(await budgets.check(APP, agent, 5)).toEqual({ ok: true, spentUsd: 3, limitUsd: 5 });
    ledger.append(row({ cost_nanos: 1_500_000_000n }));
    expect(await budgets.check(APP, agent, 5)).toMatchObject({ ok: true, spentUsd: 4.5 });
    ledger.append(row({ cost_nanos: 500_000_000n }));
    const spent = await budgets.check(APP, agent, 5);
    expect(spent.ok).toBe(false);
    if (spent.ok) return;
    expect(spent.error.message).toBe('This assistant has reached its monthly budget of $5.00; an operator can raise it in the console.');
    expect(spent.error.code).toBe('rate_limited');
    expect(spent.error.status).toBe(429);
    expect(spent.error.details).toMatchObject({ reason: 'budget_exceeded', limit_usd: 5, spent_usd: 5, month: '2025-11', resets_at: '2025-12-01T00:00:00.000Z' });
    expect(counter.sums).toBe(1);
    await ledger.close();
  });

  it('budgets gateway keys the same way', async () => {
    const { ledger, budgets } = await setup(kind, { history: [row({ agent_id: null, key_id: 'key_1', source: 'gateway', cost_nanos: 2n * USD })] });
    expect(await budgets.check(APP, { keyId: 'key_1' }, 2.5)).toMatchObject({ ok: true, spentUsd: 2 });
    ledger.append(row({ agent_id: null, key_id: 'key_1', source: 'gateway', cost_nanos: USD }));
    const r = await budgets.check(APP, { keyId: 'key_1' }, 2.5);
    expect(r).toMatchObject({ ok: false, spentUsd: 3 });
    if (!r.ok) expect(r.error.message).toBe('This API key has reached its monthly budget of $2.50; an operator can raise it in the console.');
    await ledger.close();
  });

  it('converts CNY at the operator rate and compares exactly', async () => {
    const { ledger, budgets } = await setup(kind, {
      rates: new CurrencyRates({ CNY: 0.14 }),
      history: [row({ currency: 'CNY', cost_nanos: 10n * USD }), row({ currency: 'USD', cost_nanos: USD / 10n })],
    });
    // ¥10 × 0.14 + $0.10 = $1.50
    expect(await budgets.check(APP, agent, 1.51)).toMatchObject({ ok: true, spentUsd: 1.5 });
    expect(await budgets.check(APP, agent, 1.5)).toMatchObject({ ok: false, spentUsd: 1.5 });
    budgets.setRates(new CurrencyRates({ CNY: 0.13 }));
    expect(await budgets.check(APP, agent, 1.5)).toMatchObject({ ok: true, spentUsd: 1.4 });
    expect(await budgets.spent(APP, agent)).toMatchObject({ month: '2025-11', byCurrency: { CNY: 10n * USD, USD: USD / 10n } });
    await ledger.close();
  });

  it('starts afresh when the month turns', async () => {
    const { ledger, budgets, clock } = await setup(kind, { history: [row({ cost_nanos: 9n * USD })] });
    expect(await budgets.check(APP, agent, 5)).toMatchObject({ ok: false });
    clock.now = Date.parse('2025-12-01T00:00:00.001Z');
    ledger.append(row({ cost_nanos: USD, created_at: clock.now }));
    expect(await budgets.check(APP, agent, 5)).toMatchObject({ ok: true, spentUsd: 1 });
    await ledger.close();
  });
});

describe('Budgets', () => {
  it('no budget: ok without touching the store', async () => {
    const { budgets, counter, ledger } = await setup('memory');
    expect(await budgets.check(APP, agent, null)).toEqual({ ok: true, spentUsd: 0, limitUsd: null });
    expect(await budgets.check(APP, agent, undefined)).toMatchObject({ ok: true });
    expect(counter.sums).toBe(0);
    await ledger.close();
  });

  it('a budget of 0 stops every call', async () => {
    const { budgets, ledger } = await setup('memory');
    const r = await budgets.check(APP, agent, 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('monthly budget of $0.00');
    await ledger.close();
  });

  it('refuses to guess when spending is in a currency without a rate, and says what to set', async () => {
    const { budgets, ledger } = await setup('memory', { history: [row({ currency: 'EUR', cost_nanos: USD })] });
    const r = await budgets.check(APP, agent, 5);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('unavailable');
      expect(r.error.message).toMatch(/EUR, which has no USD rate.*currency_rates\.EUR/);
    }
    await ledger.close();
  });

  it('answers unavailable while the store fails, and reads again on the next check', async () => {
    const base = new MemoryLedgerStore();
    await base.appendLedger([row({ cost_nanos: USD })]);
    let fail = true;
    const store: LedgerStorePort = {
      appendLedger: (r) => base.appendLedger(r),
      listLedger: (a, f) => base.listLedger(a, f),
      sumLedgerCost: (a, f) => (fail ? Promise.reject(new Error('db down')) : base.sumLedgerCost(a, f)),
    };
    const ledger = new Ledger({ store, prices: seedPriceTable(), now: () => NOV });
    const budgets = new Budgets({ store, ledger, now: () => NOV });
    const r = await budgets.check(APP, agent, 5);
    expect(r).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    fail = false;
    expect(await budgets.check(APP, agent, 5)).toMatchObject({ ok: true, spentUsd: 1 });
    await ledger.close();
  });

  it('counts every row exactly once when rows arrive while the total is being seeded', async () => {
    // A store whose writes and sums wait for the test to let them through, to force the interleavings.
    const base = new MemoryLedgerStore();
    const gates: Array<() => void> = [];
    const gate = () => new Promise<void>((resolve) => gates.push(resolve));
    const release = async () => {
      while (gates.length === 0) await new Promise((r) => setImmediate(r));
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    };
    const store: LedgerStorePort = {
      appendLedger: async (rows) => {
        await gate();
        return base.appendLedger(rows);
      },
      listLedger: (a, f) => base.listLedger(a, f),
      sumLedgerCost: async (a, f) => {
        await gate();
        return base.sumLedgerCost(a, f);
      },
    };
    await base.appendLedger([row({ cost_nanos: 1n, created_at: NOV - 1000 })]);
    let clock = NOV;
    const ledger = new Ledger({ store, prices: seedPriceTable(), now: () => clock, flushMs: 60_000 });
    const budgets = new Budgets({ store, ledger, now: () => clock });

    ledger.append(row({ cost_nanos: 10n, created_at: clock })); // buffered, not yet in the store
    const checked = budgets.check(APP, agent, 5); // seeding: takes a cut, then flushes the 10
    ledger.append(row({ cost_nanos: 100n, created_at: clock })); // same millisecond, but after the cut
    await release(); // append [10]; the writer goes on to [100]
    clock += 1;
    ledger.append(row({ cost_nanos: 1_000n, created_at: clock })); // recorded while the sum is pending
    await release(); // append [100]: in the store before the sum runs
    await release(); // sum: sees 1 + 10 + 100, counts only 1 + 10 (below the cut)
    await checked;
    expect((await budgets.spent(APP, agent)).byCurrency).toEqual({ USD: 1_111n });
    const closing = ledger.close();
    await release(); // append [1000]
    await closing;
    expect(base.rows.reduce((n, r) => n + r.cost_nanos, 0n)).toBe(1_111n);
  });
});

describe('a check under the limit', () => {
  it('reads the sum spent() reads: in-flight holds added to the total per currency before converting', async () => {
    let inFlight: InFlightListener | undefined;
    const ledger = {
      subscribe: () => () => {},
      barrier: () => NOV,
      flush: async () => {},
      watchInFlight: (listener: InFlightListener) => {
        inFlight = listener;
        return () => {};
      },
    };
    const store = { sumLedgerCost: async () => [{ currency: 'CNY', nanos: 7n }] };
    const budgets = new Budgets({ store, ledger, now: () => NOV, rates: new CurrencyRates({ CNY: 0.14 }) });
    // Seeds the total (the first check waits for the store).
    expect(await budgets.check(APP, agent, 1)).toMatchObject({ ok: true });
    inFlight!.opened(row({ currency: 'CNY', cost_nanos: 3n }));
    inFlight!.opened(row({ currency: 'USD', cost_nanos: 2n }));
    // ¥(7 + 3) nanos × 0.14 = 1 nano-USD (converted apart, ¥7 and ¥3 would each round down to 0), plus $2 nanos.
    const spent = await budgets.spent(APP, agent);
    expect(spent.usdNanos).toBe(3n);
    expect(await budgets.check(APP, agent, 0.000001)).toEqual({ ok: true, spentUsd: spent.usd, limitUsd: 0.000001 });
    expect(await budgets.check(APP, agent, 0)).toMatchObject({ ok: false, spentUsd: spent.usd });
    // A currency without a rate still takes the full path, and its answer.
    inFlight!.opened(row({ currency: 'EUR', cost_nanos: 5n }));
    expect(await budgets.check(APP, agent, 1)).toMatchObject({ ok: false, error: { details: { reason: 'currency_rate_missing' } } });
    budgets.close();
  });
});
