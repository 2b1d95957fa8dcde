import { describe, expect, it } from 'vitest';
import { costOf, definePrice, formatNanos, PriceTable, priceId, seedPriceTable, toMicros } from './prices.ts';

const table = seedPriceTable();
const mini = table.lookup('gpt-4o-mini')!;
const usage = (promptTokens: number, cachedTokens: number, completionTokens: number) => ({ promptTokens, cachedTokens, completionTokens });

describe('toMicros', () => {
  it('parses published decimals exactly', () => {
    expect(toMicros('0.075')).toBe(75_000);
    expect(toMicros(0.15)).toBe(150_000);
    expect(toMicros('10.00')).toBe(10_000_000);
    expect(toMicros('0.000001')).toBe(1);
  });
  it('refuses what it cannot hold exactly', () => {
    expect(() => toMicros('0.0000001')).toThrow(RangeError);
    expect(() => toMicros('-1')).toThrow(RangeError);
    expect(() => toMicros('1e-7')).toThrow(RangeError);
  });
});

describe('costOf', () => {
  it('bills cached tokens at the cached rate, the rest of the prompt at the input rate', () => {
    const c = costOf(usage(1000, 400, 200), mini);
    expect(c).toMatchObject({ currency: 'USD', inputNanos: 90_000, cachedInputNanos: 30_000, outputNanos: 120_000, nanos: 240_000 });
    expect(formatNanos(c.nanos)).toBe('0.00024');
    expect(c.priceId).toBe('gpt-4o-mini@2024-10-01');
  });

  it('is exact at the level of a single token', () => {
    expect(costOf(usage(1, 1, 0), mini).nanos).toBe(75);
    expect(costOf(usage(1, 0, 0), mini).nanos).toBe(150);
    expect(costOf(usage(0, 0, 1), mini).nanos).toBe(600);
  });

  it('adds up: the sum of row costs equals the cost of the summed usage', () => {
    let rows = 0;
    const total = { promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let i = 0; i < 1000; i++) {
      const p = rand(5000);
      const u = usage(p, rand(p + 1), rand(800));
      rows += costOf(u, mini).nanos;
      total.promptTokens += u.promptTokens;
      total.cachedTokens += u.cachedTokens;
      total.completionTokens += u.completionTokens;
    }
    expect(rows).toBe(costOf(total, mini).nanos);
  });

  it('ignores reasoning tokens beyond the completion tokens that already include them', () => {
    const plain = costOf(usage(10, 0, 100), mini);
    const withReasoning = costOf({ ...usage(10, 0, 100), reasoningTokens: 60 } as never, mini);
    expect(withReasoning.nanos).toBe(plain.nanos);
  });

  it('uses batch rates when asked', () => {
    expect(costOf(usage(1_000_000, 0, 1_000_000), mini, { batch: true }).nanos).toBe(375_000_000);
    // No batch rate for cached input: cached batch tokens cost the batch input rate.
    expect(costOf(usage(10, 10, 0), mini, { batch: true }).nanos).toBe(750);
    const deepseek = table.lookup('deepseek-chat')!;
    expect(costOf(usage(100, 0, 0), deepseek, { batch: true }).nanos).toBe(costOf(usage(100, 0, 0), deepseek).nanos);
  });

  it('bills in the currency of the price (Doubao in CNY)', () => {
    const doubao = table.lookup('doubao-seed-1-6-250615')!;
    const c = costOf(usage(2000, 1000, 500), doubao);
    expect(c.currency).toBe('CNY');
    // 1000 × ¥0.8/1M + 1000 × ¥0.16/1M + 500 × ¥8/1M = ¥0.0008 + ¥0.00016 + ¥0.004
    expect(formatNanos(c.nanos)).toBe('0.00496');
  });

  it('never bills a negative remainder when upstream reports more cached than prompt tokens', () => {
    expect(costOf(usage(10, 50, 0), mini).nanos).toBe(10 * 75);
  });

  it('rounds sub-nano costs half to even, once per component', () => {
    const tiny = definePrice({ model: 'tiny', currency: 'USD', effectiveFrom: '2025-01-01', perMillion: { input: '0.000001', output: '0' } });
    expect(costOf(usage(500, 0, 0), tiny).nanos).toBe(0);
    expect(costOf(usage(1500, 0, 0), tiny).nanos).toBe(2);
    expect(costOf(usage(2500, 0, 0), tiny).nanos).toBe(2);
  });

  it('gives what BigInt arithmetic gives, below and above 2^53 picos', () => {
    // The reference: the product in BigInt, rounded half to even to nanos.
    const nanos = (tokens: number, micros: number) => {
      const p = BigInt(tokens) * BigInt(micros);
      const q = p / 1000n, r = p % 1000n;
      return Number(r > 500n || (r === 500n && q % 2n === 1n) ? q + 1n : q);
    };
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const rates = [1, 7, 500, 1500, 2500, 75_000, 123_457, 60_000_000, 999_999_999];
    for (let i = 0; i < 3000; i++) {
      const micros = rates[i % rates.length]!;
      const tokens = i < 2000 ? rand(5_000_000) : 2 ** 40 + rand(2 ** 30);
      const price = definePrice({ model: 'm', currency: 'USD', effectiveFrom: '2025-01-01', perMillion: { input: micros / 1e6, output: '0' } });
      expect(costOf(usage(tokens, 0, 0), price).inputNanos).toBe(nanos(tokens, micros));
    }
  });
});

describe('PriceTable', () => {
  it('finds dated snapshots and aliases', () => {
    expect(table.lookup('gpt-4o-mini-2024-07-18')?.model).toBe('gpt-4o-mini');
    expect(table.lookup('doubao-seed-1.6')?.model).toBe('doubao-seed-1-6');
    expect(table.lookup('GPT-4o')?.model).toBe('gpt-4o');
    expect(table.lookup('no-such-model')).toBeUndefined();
  });

  it('picks the version in effect at the time of the call, overrides winning from their date', () => {
    const next = definePrice({ model: 'gpt-4o-mini', currency: 'USD', effectiveFrom: '2030-01-01', perMillion: { input: '0.10', output: '0.40' } });
    const t = table.with([next]);
    expect(t.lookup('gpt-4o-mini', { at: new Date('2029-12-31T23:00:00Z') })?.perMillion.input).toBe(150_000);
    expect(t.lookup('gpt-4o-mini', { at: new Date('2030-01-01T00:00:00Z') })?.perMillion.input).toBe(100_000);
    expect(priceId(t.lookup('gpt-4o-mini', { at: new Date('2030-06-01') })!)).toBe('gpt-4o-mini@2030-01-01');
  });

  it('prefers a provider-specific price for that provider only', () => {
    const azure = definePrice({ model: 'gpt-4o', provider: 'azure', currency: 'USD', effectiveFrom: '2024-10-01', perMillion: { input: '2.75', output: '11' } });
    const t = table.with([azure]);
    expect(t.lookup('gpt-4o', { provider: 'azure' })?.perMillion.input).toBe(2_750_000);
    expect(t.lookup('gpt-4o', { provider: 'openai' })?.perMillion.input).toBe(2_500_000);
    expect(t.lookup('gpt-4o')?.perMillion.input).toBe(2_500_000);
  });
});

describe('formatNanos', () => {
  it('prints decimals without float noise', () => {
    expect(formatNanos(0)).toBe('0');
    expect(formatNanos(75)).toBe('0.000000075');
    expect(formatNanos(1_500_000_000)).toBe('1.5');
    expect(formatNanos(-20)).toBe('-0.00000002');
  });
});
