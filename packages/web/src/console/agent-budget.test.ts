import { describe, expect, it } from 'vitest';
import { formatMoney, replyCost, roughTokens, type ModelPrice } from './agent-budget.ts';

// gpt-4o-mini as GET /api/models lists it.
const mini: ModelPrice = { currency: 'USD', input_per_million: 0.15, cached_input_per_million: 0.075, output_per_million: 0.6 };

describe('the cost per reply the agent form shows beside the history budget', () => {
  it('prices a full history at the model\'s rates: the budget and system prompt in, the most a reply may write out', () => {
    const cost = replyCost({ historyTokens: 8_000, systemPrompt: 'x'.repeat(400), maxTokens: 1_024 }, mini)!;
    expect(cost.promptTokens).toBe(8_100);
    // 8,100 × $0.15/M + 1,024 × $0.60/M
    expect(cost.atMost).toBeCloseTo(0.001215 + 0.0006144, 9);
    // All but ~300 tokens from the cache at half price.
    expect(cost.cached).toBeCloseTo((7_800 * 0.075 + 300 * 0.15) / 1e6 + 0.0006144, 9);
    expect(formatMoney(cost.atMost, cost.currency)).toBe('$0.0018');
  });

  it('shows what the whole window would cost, so 128k reads as the expensive choice it is', () => {
    const small = replyCost({ historyTokens: 8_000, systemPrompt: '', maxTokens: 1_024 }, mini)!;
    const whole = replyCost({ historyTokens: 128_000, systemPrompt: '', maxTokens: 1_024 }, mini)!;
    expect(whole.atMost / small.atMost).toBeGreaterThan(10);
    expect(formatMoney(whole.atMost, 'USD')).toBe('$0.020');
  });

  it('says nothing without a price or a budget, and counts Chinese by the character', () => {
    expect(replyCost({ historyTokens: 8_000, systemPrompt: '', maxTokens: 100 }, null)).toBeUndefined();
    expect(replyCost({ historyTokens: Number.NaN, systemPrompt: '', maxTokens: 100 }, mini)).toBeUndefined();
    expect(roughTokens('你好，世界')).toBe(5);
    expect(formatMoney(0.012, 'cny')).toBe('¥0.012');
    expect(formatMoney(0.5, 'EUR')).toBe('0.50 EUR');
  });
});
