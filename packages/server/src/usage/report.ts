// Usage reports for the console and the admin API: ledger rows of a period
// added up by day, model, agent, key or purpose. Done here over listLedger pages so the
// Store port stays small; memory is one accumulator per group, whatever the
// number of rows.
import type { AiStore, LedgerRow } from '../store/index.ts';
import { CurrencyRates, formatNanoAmount, nanosToUsd } from './money.ts';
import { IN_FLIGHT } from './policy.ts';

export type UsageGroupBy = 'day' | 'model' | 'agent' | 'key' | 'purpose';

export interface UsageQuery {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  groupBy: UsageGroupBy;
}

export interface UsageGroup {
  /**
   * The day (YYYY-MM-DD, UTC), the model that answered, the agent id, the key id, or what the call was for
   * ('reply', 'summary'); null for calls without one (no agent, no key, no purpose: /v1 and batches).
   */
  key: string | null;
  /** Ledger rows: every attempt, retries included. */
  attempts: number;
  /** Attempts that did not end well (outcome other than ok, and not still in flight). */
  failed: number;
  /** Attempts still in flight (outcome pending): their tokens and cost are the most they may use, until they settle. */
  inFlight: number;
  /** Attempts whose tokens we counted because upstream reported none. */
  estimated: number;
  outcomes: Record<string, number>;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** Exact cost per currency, as decimal strings ("0.000264"). */
  cost: Record<string, string>;
  /** All currencies in USD at the given rates; currencies without a rate are left out. */
  costUsd: number;
}

export interface UsageReport {
  appId: string;
  from: number;
  to: number;
  groupBy: UsageGroupBy;
  /** Days ascending; otherwise most expensive first. */
  groups: UsageGroup[];
  total: UsageGroup;
  /** The USD rates costUsd was computed with. */
  rates: Record<string, number>;
}

export interface UsageReportOptions {
  rates?: CurrencyRates;
  /** Written first, so the report includes calls that just finished. */
  ledger?: { flush(): Promise<void> };
  /** Rows per listLedger page. Default 1000. */
  pageSize?: number;
}

interface Acc {
  key: string | null;
  attempts: number;
  failed: number;
  inFlight: number;
  estimated: number;
  outcomes: Record<string, number>;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  nanos: Map<string, bigint>;
}

const emptyAcc = (key: string | null): Acc => ({
  key,
  attempts: 0,
  failed: 0,
  inFlight: 0,
  estimated: 0,
  outcomes: {},
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  nanos: new Map(),
});

function groupKey(row: LedgerRow, by: UsageGroupBy): string | null {
  switch (by) {
    case 'day':
      return new Date(row.created_at).toISOString().slice(0, 10);
    // What answered is what was paid for; the requested name may be an alias.
    case 'model':
      return row.upstream_model ?? row.model;
    case 'agent':
      return row.agent_id;
    case 'key':
      return row.key_id;
    case 'purpose':
      return row.purpose;
  }
}

function addRow(acc: Acc, row: LedgerRow): void {
  acc.attempts += 1;
  if (row.outcome === IN_FLIGHT) acc.inFlight += 1;
  else if (row.outcome !== 'ok') acc.failed += 1;
  if (row.estimated) acc.estimated += 1;
  acc.outcomes[row.outcome] = (acc.outcomes[row.outcome] ?? 0) + 1;
  acc.promptTokens += row.prompt_tokens;
  acc.cachedTokens += row.cached_tokens;
  acc.completionTokens += row.completion_tokens;
  acc.reasoningTokens += row.reasoning_tokens;
  const currency = row.currency.toUpperCase();
  acc.nanos.set(currency, (acc.nanos.get(currency) ?? 0n) + BigInt(row.cost_nanos));
}

function finish(acc: Acc, rates: CurrencyRates): UsageGroup {
  let usd = 0n;
  const cost: Record<string, string> = {};
  for (const [currency, nanos] of [...acc.nanos].sort(([a], [b]) => a.localeCompare(b))) {
    cost[currency] = formatNanoAmount(nanos);
    usd += rates.toUsdNanos(currency, nanos) ?? 0n;
  }
  const { nanos: _n, ...rest } = acc;
  return { ...rest, cost, costUsd: nanosToUsd(usd) };
}

export async function usageReport(store: Pick<AiStore, 'listLedger'>, appId: string, query: UsageQuery, options: UsageReportOptions = {}): Promise<UsageReport> {
  if (!(query.from < query.to)) throw new RangeError('usage report: from must be before to');
  const rates = options.rates ?? new CurrencyRates();
  const pageSize = options.pageSize ?? 1000;
  await options.ledger?.flush();
  const groups = new Map<string | null, Acc>();
  const total = emptyAcc(null);
  let before: { created_at: number; id: string } | undefined;
  for (;;) {
    const page = await store.listLedger(appId, { since: query.from, until: query.to, limit: pageSize, ...(before ? { before } : {}) });
    for (const row of page) {
      // The store's bounds are trusted for paging but not for semantics (inclusive or not): the report's are [from, to).
      if (row.created_at < query.from || row.created_at >= query.to) continue;
      const key = groupKey(row, query.groupBy);
      let acc = groups.get(key);
      if (!acc) groups.set(key, (acc = emptyAcc(key)));
      addRow(acc, row);
      addRow(total, row);
    }
    if (page.length < pageSize) break;
    const last = page[page.length - 1]!;
    before = { created_at: last.created_at, id: last.id };
  }
  const out = [...groups.values()].map((g) => finish(g, rates));
  if (query.groupBy === 'day') out.sort((a, b) => (a.key ?? '').localeCompare(b.key ?? ''));
  else out.sort((a, b) => b.costUsd - a.costUsd || b.attempts - a.attempts);
  return { appId, from: query.from, to: query.to, groupBy: query.groupBy, groups: out, total: finish(total, rates), rates: rates.toJSON() };
}
