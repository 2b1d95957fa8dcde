import { describe, expect, it } from 'vitest';
import { CurrencyRates, formatNanoAmount, formatUsd, usdToNanos } from './money.ts';

describe('CurrencyRates', () => {
  it('converts nanos exactly in BigInt; USD is always 1', () => {
    const rates = new CurrencyRates({ CNY: 0.14 });
    expect(rates.toUsdNanos('CNY', 10_000_000_000n)).toBe(1_400_000_000n);
    expect(rates.toUsdNanos('cny', 7n)).toBe(0n);
    expect(rates.toUsdNanos('USD', 5n)).toBe(5n);
    expect(rates.toUsdNanos('EUR', 5n)).toBeUndefined();
    expect(rates.toJSON()).toEqual({ USD: 1, CNY: 0.14 });
  });

  it('refuses rates that make no sense', () => {
    expect(() => new CurrencyRates({ CNY: 0 })).toThrow(/positive/);
    expect(() => new CurrencyRates({ CNY: Number.NaN })).toThrow(/positive/);
    expect(() => new CurrencyRates({ USD: 2 })).toThrow(/1 by definition/);
  });

  it('ships an approximate CNY rate so budgets work before an operator sets one', () => {
    expect(new CurrencyRates().has('CNY')).toBe(true);
  });
});

describe('formatting', () => {
  it.each([
    [5, '$5.00'],
    [2.5, '$2.50'],
    [0, '$0.00'],
    [0.0042, '$0.0042'],
    [0.004, '$0.004'],
  ])('formatUsd(%s) = %s', (usd, text) => expect(formatUsd(usd)).toBe(text));

  it('prints nanos exactly at any size', () => {
    expect(formatNanoAmount(264_000n)).toBe('0.000264');
    expect(formatNanoAmount(10_000_000_000n)).toBe('10');
    expect(formatNanoAmount(2n ** 64n)).toBe('18446744073.709551616');
    expect(formatNanoAmount(-1n)).toBe('-0.000000001');
  });

  it('usdToNanos keeps micro-dollars', () => {
    expect(usdToNanos(5)).toBe(5_000_000_000n);
    expect(usdToNanos(0.1)).toBe(100_000_000n);
  });
});
