import { afterEach, describe, expect, it } from 'vitest';
import { seedPriceTable } from '../llm/index.ts';
import { Ledger } from './ledger.ts';
import { CurrencyRates } from './money.ts';
import { usageReport } from './report.ts';
import { APP, OTHER_APP, STORE_KINDS, openTestStore, row, type StoreKind, type TestStore } from './test-support.ts';

const day = (d: string, h = 12) => Date.parse(`2025-11-${d}T${String(h).padStart(2, '0')}:00:00Z`);
const FROM = day('01', 0);
const TO = Date.parse('2025-12-01T00:00:00Z');

let open: TestStore[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function seeded(kind: StoreKind) {
  const s = await openTestStore(kind);
  open.push(s);
  await s.store.appendLedger([
    row({ created_at: day('03'), cost_nanos: 1_000n, prompt_tokens: 10, completion_tokens: 1 }),
    row({ created_at: day('03', 13), cost_nanos: 2_000n, prompt_tokens: 20, completion_tokens: 2, cached_tokens: 5, estimated: true, outcome: 'stopped' }),
    row({ created_at: day('03', 14), cost_nanos: 0n, prompt_tokens: 0, completion_tokens: 0, outcome: 'error', attempt: 1 }),
    row({ created_at: day('04'), agent_id: 'usr_b', upstream_model: 'qwen-plus', model: 'qwen-plus', currency: 'CNY', cost_nanos: 10_000_000_000n, reasoning_tokens: 7 }),
    row({ created_at: day('05'), agent_id: null, key_id: 'key_1', source: 'gateway', model: 'fast', upstream_model: 'gpt-4o-mini', cost_nanos: 4_000n }),
    // Outside the period or the app: never counted.
    row({ created_at: FROM - 1, cost_nanos: 999n }),
    row({ created_at: TO, cost_nanos: 999n }),
    row({ app_id: OTHER_APP, created_at: day('03'), cost_nanos: 999n }),
  ]);
  return s;
}

describe.each(STORE_KINDS)('usageReport on %s', (kind) => {
  it('groups by day, in order, over every page, inside [from, to)', async () => {
    const s = await seeded(kind);
    const r = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'day' }, { pageSize: 2, rates: new CurrencyRates({ CNY: 0.14 }) });
    expect(r.groups.map((g) => [g.key, g.attempts])).toEqual([
      ['2025-11-03', 3],
      ['2025-11-04', 1],
      ['2025-11-05', 1],
    ]);
    expect(r.groups[0]).toMatchObject({
      failed: 2,
      estimated: 1,
      outcomes: { ok: 1, stopped: 1, error: 1 },
      promptTokens: 30,
      cachedTokens: 5,
      completionTokens: 3,
      cost: { USD: '0.000003' },
      costUsd: 0.000003,
    });
    expect(r.total).toMatchObject({ key: null, attempts: 5, reasoningTokens: 7, cost: { CNY: '10', USD: '0.000007' } });
    // ¥10 × 0.14 + $0.000007
    expect(r.total.costUsd).toBeCloseTo(1.400007, 9);
    expect(r.rates).toEqual({ USD: 1, CNY: 0.14 });
  });

  it('groups by the model that answered, by agent and by key (null for calls without one)', async () => {
    const s = await seeded(kind);
    const byModel = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'model' });
    expect(byModel.groups.map((g) => [g.key, g.attempts])).toEqual([
      ['qwen-plus', 1],
      ['gpt-4o-mini', 4],
    ]);
    const byAgent = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'agent' });
    expect(byAgent.groups.map((g) => g.key)).toEqual(['usr_b', null, 'usr_agent']);
    const byKey = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'key' });
    // Most expensive first: the agent calls include ¥10.
    expect(byKey.groups.map((g) => [g.key, g.attempts])).toEqual([
      [null, 4],
      ['key_1', 1],
    ]);
  });

  it('groups by purpose: what an agent\'s replies cost, and what keeping its memory (summaries) costs', async () => {
    const s = await openTestStore(kind);
    open.push(s);
    await s.store.appendLedger([
      row({ created_at: day('03'), purpose: 'reply', cost_nanos: 5_000n, prompt_tokens: 900, cached_tokens: 768 }),
      row({ created_at: day('03', 13), purpose: 'reply', cost_nanos: 4_000n }),
      row({ created_at: day('03', 14), purpose: 'summary', cost_nanos: 3_000n, prompt_tokens: 4_000 }),
      row({ created_at: day('04'), purpose: null, agent_id: null, key_id: 'key_1', source: 'gateway', cost_nanos: 1_000n }),
    ]);
    const r = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'purpose' });
    expect(r.groups.map((g) => [g.key, g.attempts, g.cost.USD])).toEqual([
      ['reply', 2, '0.000009'],
      ['summary', 1, '0.000003'],
      [null, 1, '0.000001'],
    ]);
    expect(r.groups[0]).toMatchObject({ cachedTokens: 768 });
  });
});

describe('usageReport', () => {
  it('writes what the ledger holds first, so a call that just finished is in the report', async () => {
    const s = await openTestStore('memory');
    const ledger = new Ledger({ store: s.store, prices: seedPriceTable(), flushMs: 60_000 });
    ledger.append(row({ created_at: day('10') }));
    const r = await usageReport(s.store, APP, { from: FROM, to: TO, groupBy: 'agent' }, { ledger });
    expect(r.total.attempts).toBe(1);
    await ledger.close();
  });

  it('wants from before to', async () => {
    const s = await openTestStore('memory');
    await expect(usageReport(s.store, APP, { from: TO, to: FROM, groupBy: 'day' })).rejects.toThrow(/from must be before to/);
  });
});
