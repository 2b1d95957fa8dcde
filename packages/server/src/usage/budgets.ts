// Monthly budgets per agent and per gateway key, in USD. The check runs before
// every model call, so it must not query the store: each budgeted agent or key
// has an in-memory running total for the current calendar month (UTC), seeded
// once from the store and then kept current from every row the Ledger records.
//
// A call's cost is known only after it, so while it runs the budget counts
// the most it may cost (its in-flight ledger row: prompt estimate plus the
// output it asked for, or the default reservation), and replaces that with the
// settled cost when it ends. Calls admitted in the same instant, before their
// rows open, can still pass the limit together; never by more than they cost.
import { WarblerError } from '../errors.ts';
import type { AiStore, LedgerRow } from '../store/index.ts';
import type { InFlightListener, LedgerListener } from './ledger.ts';
import { CurrencyRates, formatUsd, nanosToUsd, usdToNanos } from './money.ts';

export type BudgetStore = Pick<AiStore, 'sumLedgerCost'>;

/** What Budgets needs of the Ledger: rows as they are recorded, and a clean cut to seed from. */
export interface BudgetLedger {
  subscribe(listener: LedgerListener): () => void;
  barrier(): number;
  flush(): Promise<void>;
  /** Rows of calls in flight as they open and settle; without it only settled spending is counted. */
  watchInFlight?(listener: InFlightListener): () => void;
}

export type BudgetScope = { agentId: string; keyId?: undefined } | { keyId: string; agentId?: undefined };

export interface BudgetOptions {
  store: BudgetStore;
  ledger: BudgetLedger;
  rates?: CurrencyRates;
  now?: () => number;
}

export type BudgetCheck =
  | { ok: true; spentUsd: number; limitUsd: number | null }
  | { ok: false; error: WarblerError; spentUsd: number; limitUsd: number | null };

export interface MonthSpend {
  /** 'YYYY-MM', UTC. */
  month: string;
  /** Integer nanos per currency. */
  byCurrency: Record<string, bigint>;
  /** Converted with the current rates; currencies without a rate are left out and listed in `unconverted`. */
  usd: number;
  /** The same, exactly, in nano-USD. */
  usdNanos: bigint;
  unconverted: string[];
}

interface Total {
  month: string;
  monthStart: number;
  monthEnd: number;
  /** Rows at or above this created_at are counted here; older ones come from the store. */
  cut: number;
  byCurrency: Map<string, bigint>;
  ready: Promise<void> | undefined;
  /** Seeded from the store: a check reads it at once, without awaiting `ready`. */
  seeded: boolean;
  failed: boolean;
}

function monthOf(ms: number): { month: string; start: number; end: number } {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { month: `${y}-${String(m + 1).padStart(2, '0')}`, start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

const keyOf = (appId: string, scope: BudgetScope) => (scope.agentId !== undefined ? `${appId}\u0000a\u0000${scope.agentId}` : `${appId}\u0000k\u0000${scope.keyId}`);

export class Budgets {
  private readonly store: BudgetStore;
  private readonly ledger: BudgetLedger;
  private rates: CurrencyRates;
  private readonly now: () => number;
  private readonly totals = new Map<string, Total>();
  /** Worst-case cost of calls in flight on this node, per agent or key, by ledger row id. */
  private readonly held = new Map<string, Map<string, { currency: string; nanos: bigint }>>();
  /**
   * The same, added up per agent or key and currency (upper case), kept as rows open and close: a check
   * reads one sum per currency instead of every call in flight (sixteen at a time under load).
   */
  private readonly heldSums = new Map<string, Map<string, bigint>>();
  private readonly unsubscribe: () => void;
  private readonly unwatch: () => void;

  constructor(options: BudgetOptions) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.rates = options.rates ?? new CurrencyRates();
    this.now = options.now ?? Date.now;
    this.unsubscribe = this.ledger.subscribe((row) => this.observe(row));
    this.unwatch = this.ledger.watchInFlight?.({ opened: (row) => this.hold(row), closed: (row) => this.release(row) }) ?? (() => {});
  }

  /** New rates apply to the next check; totals are kept per currency, so nothing is re-read. */
  setRates(rates: CurrencyRates): void {
    this.rates = rates;
  }

  /**
   * Whether the agent or key may make another model call this month.
   * `limitUsd` null or undefined means no budget (and nothing is loaded).
   */
  async check(appId: string, scope: BudgetScope, limitUsd: number | null | undefined): Promise<BudgetCheck> {
    if (limitUsd === null || limitUsd === undefined) return { ok: true, spentUsd: 0, limitUsd: null };
    // Under the limit with every currency converted (a check before every call, nearly always): the sum alone,
    // without spent()'s copy of the totals, its record and two awaits. Anything else takes the full path below.
    const under = this.underLimit(appId, scope, usdToNanos(limitUsd));
    if (under !== undefined) return { ok: true, spentUsd: nanosToUsd(under), limitUsd };
    let spend: MonthSpend;
    try {
      spend = await this.spent(appId, scope);
    } catch {
      return {
        ok: false,
        spentUsd: 0,
        limitUsd,
        error: new WarblerError('unavailable', `Could not read this month's spending to check the budget of ${who(scope)}; try again shortly.`),
      };
    }
    if (spend.unconverted.length > 0) {
      // Spending we cannot convert might already be over the limit; say what to configure instead of guessing.
      const codes = spend.unconverted.join(', ');
      return {
        ok: false,
        spentUsd: spend.usd,
        limitUsd,
        error: new WarblerError(
          'unavailable',
          `${capital(who(scope))} has spending in ${codes}, which has no USD rate, so its budget cannot be checked; an operator can set currency_rates.${spend.unconverted[0]} in warbler.yaml.`,
          { reason: 'currency_rate_missing', currencies: spend.unconverted },
        ),
      };
    }
    if (spend.usdNanos < usdToNanos(limitUsd)) return { ok: true, spentUsd: spend.usd, limitUsd };
    return { ok: false, spentUsd: spend.usd, limitUsd, error: budgetError(scope, limitUsd, spend) };
  }

  /** This month's spending of an agent or key (loads it from the store the first time). */
  async spent(appId: string, scope: BudgetScope): Promise<MonthSpend> {
    const total = this.current(appId, scope);
    await total.ready;
    const byCurrency = new Map(total.byCurrency);
    const held = this.heldSums.get(keyOf(appId, scope));
    if (held) for (const [currency, nanos] of held) add(byCurrency, currency, nanos);
    let usdNanos = 0n;
    const unconverted: string[] = [];
    for (const [currency, nanos] of byCurrency) {
      const usd = this.rates.toUsdNanos(currency, nanos);
      if (usd === undefined) {
        if (nanos !== 0n) unconverted.push(currency);
      } else usdNanos += usd;
    }
    return { month: total.month, byCurrency: Object.fromEntries(byCurrency), usd: nanosToUsd(usdNanos), usdNanos, unconverted };
  }

  /** This month's nano-USD of a seeded total when all of it converts and it is below `limit`; otherwise undefined. */
  private underLimit(appId: string, scope: BudgetScope, limit: bigint): bigint | undefined {
    const total = this.current(appId, scope);
    if (!total.seeded) return undefined;
    const held = this.heldSums.get(keyOf(appId, scope));
    // spent()'s sums: per currency, the total plus what calls in flight hold, converted once each.
    let usdNanos = 0n;
    for (const [currency, nanos] of total.byCurrency) {
      const usd = this.rates.toUsdNanos(currency, held ? nanos + (held.get(currency) ?? 0n) : nanos);
      if (usd === undefined) return undefined;
      usdNanos += usd;
    }
    if (held) {
      for (const [currency, nanos] of held) {
        if (total.byCurrency.has(currency)) continue;
        const usd = this.rates.toUsdNanos(currency, nanos);
        if (usd === undefined) return undefined;
        usdNanos += usd;
      }
    }
    return usdNanos < limit ? usdNanos : undefined;
  }

  /** Forget every running total (they are re-read from the store on next use). */
  reset(): void {
    this.totals.clear();
  }

  close(): void {
    this.unsubscribe();
    this.unwatch();
    this.held.clear();
    this.heldSums.clear();
    this.totals.clear();
  }

  private current(appId: string, scope: BudgetScope): Total {
    const key = keyOf(appId, scope);
    const now = this.now();
    const existing = this.totals.get(key);
    // Within the total's month by its bounds: no date arithmetic or month text on every check.
    if (existing && !existing.failed && now >= existing.monthStart && now < existing.monthEnd) return existing;
    const { month, start, end } = monthOf(now);
    const total: Total = { month, monthStart: start, monthEnd: end, cut: this.ledger.barrier(), byCurrency: new Map(), ready: undefined, seeded: false, failed: false };
    this.totals.set(key, total);
    total.ready = this.seed(appId, scope, total).then(
      () => {
        total.seeded = true;
      },
      (err: unknown) => {
        total.failed = true;
        throw err;
      },
    );
    return total;
  }

  private async seed(appId: string, scope: BudgetScope, total: Total): Promise<void> {
    // Rows recorded before the cut may still sit in the ledger's buffer.
    await this.ledger.flush();
    const sums = await this.store.sumLedgerCost(appId, {
      ...(scope.agentId !== undefined ? { agent_id: scope.agentId } : { key_id: scope.keyId }),
      since: total.monthStart,
      // `until` is exclusive: rows at the cut were counted by observe().
      until: total.cut,
    });
    for (const { currency, nanos } of sums) add(total.byCurrency, currency, BigInt(nanos));
  }

  private hold(row: LedgerRow): void {
    if (row.cost_nanos === 0n) return;
    for (const key of scopesOf(row)) {
      let rows = this.held.get(key);
      if (!rows) this.held.set(key, (rows = new Map()));
      const before = rows.get(row.id);
      if (before) this.addHeld(key, before.currency, -before.nanos);
      rows.set(row.id, { currency: row.currency, nanos: row.cost_nanos });
      this.addHeld(key, row.currency, row.cost_nanos);
    }
  }

  private release(row: LedgerRow): void {
    for (const key of scopesOf(row)) {
      const rows = this.held.get(key);
      const held = rows?.get(row.id);
      if (!rows || !held) continue;
      rows.delete(row.id);
      this.addHeld(key, held.currency, -held.nanos);
      if (rows.size === 0) this.held.delete(key);
    }
  }

  private addHeld(key: string, currency: string, nanos: bigint): void {
    let sums = this.heldSums.get(key);
    if (!sums) this.heldSums.set(key, (sums = new Map()));
    const code = currency.toUpperCase();
    const sum = (sums.get(code) ?? 0n) + nanos;
    if (sum !== 0n) sums.set(code, sum);
    else {
      sums.delete(code);
      if (sums.size === 0) this.heldSums.delete(key);
    }
  }

  private observe(row: LedgerRow): void {
    if (row.cost_nanos === 0n) return;
    if (row.agent_id !== null) this.addTo(keyOf(row.app_id, { agentId: row.agent_id }), row);
    if (row.key_id !== null) this.addTo(keyOf(row.app_id, { keyId: row.key_id }), row);
  }

  private addTo(key: string, row: LedgerRow): void {
    const total = this.totals.get(key);
    if (!total || row.created_at < total.cut || row.created_at < total.monthStart || row.created_at >= total.monthEnd) return;
    add(total.byCurrency, row.currency, row.cost_nanos);
  }
}

function scopesOf(row: LedgerRow): string[] {
  const keys: string[] = [];
  if (row.agent_id !== null) keys.push(keyOf(row.app_id, { agentId: row.agent_id }));
  if (row.key_id !== null) keys.push(keyOf(row.app_id, { keyId: row.key_id }));
  return keys;
}

function add(map: Map<string, bigint>, currency: string, nanos: bigint): void {
  const code = currency.toUpperCase();
  map.set(code, (map.get(code) ?? 0n) + nanos);
}

const who = (scope: BudgetScope) => (scope.agentId !== undefined ? 'this assistant' : 'this API key');
const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function budgetError(scope: BudgetScope, limitUsd: number, spend: MonthSpend): WarblerError {
  const limit = formatUsd(limitUsd);
  const message =
    scope.agentId !== undefined
      ? `This assistant has reached its monthly budget of ${limit}; an operator can raise it in the console.`
      : `This API key has reached its monthly budget of ${limit}; an operator can raise it in the console.`;
  // 429 is what OpenAI answers when a quota is spent (code insufficient_quota), so gateway clients already handle it.
  return new WarblerError('rate_limited', message, {
    reason: 'budget_exceeded',
    limit_usd: limitUsd,
    spent_usd: spend.usd,
    month: spend.month,
    resets_at: new Date(monthOf(Date.parse(`${spend.month}-01T00:00:00Z`)).end).toISOString(),
  });
}
