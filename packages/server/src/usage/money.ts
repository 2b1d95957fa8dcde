// Budgets are set in USD while the ledger keeps each row in the currency the
// provider bills in (Doubao and Qwen bill in CNY). An operator-set table of
// "USD per unit" bridges the two. Rates are held as integer micro-USD per
// unit so conversions of integer nanos stay in BigInt: a month of spend adds
// up exactly and the budget comparison never drifts with float rounding.

/** USD per one unit of each currency, e.g. `{ CNY: 0.14 }`. USD is always 1. */
export type UsdRates = Readonly<Record<string, number>>;

/**
 * Used when the operator sets no rate. An approximate mid-2025 figure so a
 * CNY model under a budget is not refused out of the box; operators set their
 * own in warbler.yaml (`currency_rates`).
 */
export const DEFAULT_USD_RATES: UsdRates = { USD: 1, CNY: 0.14 };

const MICROS = 1_000_000n;
const NANOS_PER_USD = 1_000_000_000n;

/** Rate tables normalised to integer micro-USD per unit; currency codes upper-cased. */
export class CurrencyRates {
  private readonly micros = new Map<string, bigint>();

  constructor(rates: UsdRates = DEFAULT_USD_RATES) {
    this.micros.set('USD', MICROS);
    for (const [code, rate] of Object.entries(rates)) {
      if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`currency rate for ${code} must be a positive number of USD per unit, got ${rate}`);
      if (code.toUpperCase() === 'USD' && rate !== 1) throw new RangeError('the USD rate is 1 by definition');
      this.micros.set(code.toUpperCase(), BigInt(Math.round(rate * 1e6)));
    }
  }

  has(currency: string): boolean {
    return this.micros.has(currency.toUpperCase());
  }

  /** Nanos of `currency` in nano-USD, rounded down; undefined when the currency has no rate. */
  toUsdNanos(currency: string, nanos: bigint): bigint | undefined {
    const rate = this.micros.get(currency.toUpperCase());
    return rate === undefined ? undefined : (nanos * rate) / MICROS;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.micros].map(([c, m]) => [c, Number(m) / 1e6]));
  }
}

/** Dollars (as an operator writes them) to nano-USD; sub-micro-dollar digits are dropped. */
export function usdToNanos(usd: number): bigint {
  return BigInt(Math.round(usd * 1e6)) * 1000n;
}

export function nanosToUsd(nanos: bigint): number {
  return Number(nanos) / Number(NANOS_PER_USD);
}

/** "$5.00", "$0.0042": cents when that says it, more digits when the amount is smaller than a cent. */
export function formatUsd(usd: number): string {
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toPrecision(2).replace(/0+$/, '')}`;
  return `$${usd.toFixed(2)}`;
}

/** Exact decimal of integer nanos, e.g. 264_000n → "0.000264" (BigInt, so monthly sums of any size stay exact). */
export function formatNanoAmount(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const s = (nanos < 0n ? -nanos : nanos).toString().padStart(10, '0');
  const frac = s.slice(-9).replace(/0+$/, '');
  return `${sign}${s.slice(0, -9)}${frac ? `.${frac}` : ''}`;
}
