import { describe, expect, it } from 'vitest';
import { LlmError, definePrice, seedPriceTable } from '../llm/index.ts';
import { isUsageContext, ledgerRowFromAttempt, outcomeOf, priceFor, type UsageContext } from './policy.ts';
import { APP, attempt, usage } from './test-support.ts';

const prices = seedPriceTable();
const context: UsageContext = { app_id: APP, source: 'gateway', key_id: 'key_1', request_id: 'req_1' };
const build = (over: Parameters<typeof attempt>[0] = {}, ctx: UsageContext = context) =>
  ledgerRowFromAttempt(attempt(over), { id: 'led_x', createdAt: 1_000, context: ctx, prices });

describe('ledgerRowFromAttempt', () => {
  it('copies who, what and how long, and prices the usage exactly', () => {
    const { row, unpriced } = build({ usage: usage({ promptTokens: 1200, completionTokens: 300, cachedTokens: 1024 }) });
    expect(unpriced).toBeUndefined();
    expect(row).toMatchObject({
      id: 'led_x',
      app_id: APP,
      source: 'gateway',
      agent_id: null,
      key_id: 'key_1',
      request_id: 'req_1',
      model: 'gpt-4o-mini',
      deployment: 'openai/gpt-4o-mini',
      provider: 'openai',
      upstream_model: 'gpt-4o-mini',
      attempt: 1,
      prompt_tokens: 1200,
      cached_tokens: 1024,
      completion_tokens: 300,
      reasoning_tokens: 0,
      estimated: false,
      // 176 × $0.15 + 1024 × $0.075 + 300 × $0.60 per 1M
      cost_nanos: 26_400n + 76_800n + 180_000n,
      currency: 'USD',
      price_id: 'gpt-4o-mini@2024-10-01',
      ttft_ms: 41,
      latency_ms: 120,
      outcome: 'ok',
      error: null,
      created_at: 1_000,
    });
  });

  it('an attempt without usage costs nothing and is not flagged unpriced', () => {
    const error = new LlmError('server', 'The provider failed: boom', { status: 500 });
    const { row, unpriced } = build({ outcome: 'failure', committed: false, usage: undefined, error, ttftMs: undefined });
    expect(unpriced).toBeUndefined();
    expect(row).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, cost_nanos: 0n, price_id: null, outcome: 'error', error: 'server 500: The provider failed: boom', ttft_ms: null });
  });

  it('an unknown model costs 0 with no price id, and says which model', () => {
    const { row, unpriced } = build({ requestedModel: 'mystery', model: 'mystery', upstreamModel: 'mystery-7b' });
    expect(unpriced).toBe('mystery-7b');
    expect(row).toMatchObject({ cost_nanos: 0n, price_id: null, currency: 'USD', prompt_tokens: 100 });
  });

  it('prices an alias by its route name when the upstream name is unknown (Ark endpoint ids)', () => {
    const { row } = build({ requestedModel: 'doubao-seed-1-6', model: 'doubao-seed-1-6', upstreamModel: 'ep-20250615-abcde', provider: 'doubao' });
    // 100 × ¥0.8 + 20 × ¥8 per 1M
    expect(row).toMatchObject({ currency: 'CNY', cost_nanos: 80_000n + 160_000n, price_id: 'doubao-seed-1-6@2025-06-11', upstream_model: 'ep-20250615-abcde' });
  });

  it('a fallback is billed at the model that answered, under the model that was asked for', () => {
    const { row } = build({ requestedModel: 'gpt-4o', model: 'deepseek-chat', upstreamModel: 'deepseek-chat', provider: 'deepseek', deployment: 'deepseek/deepseek-chat' });
    expect(row).toMatchObject({ model: 'gpt-4o', upstream_model: 'deepseek-chat', price_id: 'deepseek-chat@2025-09-29' });
  });

  it('uses the price in effect when the call started', () => {
    const table = prices.with([definePrice({ model: 'gpt-4o-mini', currency: 'USD', effectiveFrom: '2026-01-01', perMillion: { input: '1', output: '1' } })]);
    const before = ledgerRowFromAttempt(attempt({ startedAt: Date.parse('2025-12-31T23:59:59Z') }), { id: 'a', createdAt: 1, context, prices: table });
    const after = ledgerRowFromAttempt(attempt({ startedAt: Date.parse('2026-01-01T00:00:01Z') }), { id: 'b', createdAt: 1, context, prices: table });
    expect(before.row.price_id).toBe('gpt-4o-mini@2024-10-01');
    expect(after.row).toMatchObject({ price_id: 'gpt-4o-mini@2026-01-01', cost_nanos: 120_000n });
  });

  it('bills batch rates only when the context asks for them', () => {
    const normal = build({ usage: usage({ promptTokens: 1000, completionTokens: 1000 }) }, { app_id: APP, source: 'batch' });
    const batch = build({ usage: usage({ promptTokens: 1000, completionTokens: 1000 }) }, { app_id: APP, source: 'batch', batch_rates: true });
    expect(normal.row.cost_nanos).toBe(150_000n + 600_000n);
    expect(batch.row.cost_nanos).toBe(75_000n + 300_000n);
  });

  it('keeps reasoning tokens in their own column and bills them once, inside completion', () => {
    const { row } = build({ usage: usage({ promptTokens: 0, completionTokens: 500, reasoningTokens: 400 }) });
    expect(row).toMatchObject({ reasoning_tokens: 400, completion_tokens: 500, cost_nanos: 500n * 600n });
  });

  it('shortens long upstream error text', () => {
    const { row } = build({ outcome: 'failure', usage: undefined, error: new LlmError('bad_request', 'x'.repeat(2000), { status: 400 }) });
    expect(row.error!.length).toBe(500);
  });
});

describe('outcomeOf', () => {
  const err = (kind: ConstructorParameters<typeof LlmError>[0]) => new LlmError(kind, kind);
  it.each([
    ['success', undefined, 'ok'],
    ['aborted', undefined, 'stopped'],
    ['aborted', err('aborted'), 'stopped'],
    ['aborted', err('timeout'), 'timeout'],
    ['failure', err('cut_stream'), 'cut'],
    ['failure', err('rate_limited'), 'rate_limited'],
    ['failure', err('server'), 'error'],
    ['failure', err('malformed'), 'error'],
    ['failure', err('auth'), 'error'],
  ] as const)('%s / %o → %s', (outcome, error, expected) => {
    expect(outcomeOf({ outcome, ...(error ? { error } : {}) })).toBe(expected);
  });

  it('malformed output after the reply began is a cut', () => {
    expect(outcomeOf({ outcome: 'failure', error: err('malformed'), committed: true })).toBe('cut');
    expect(outcomeOf({ outcome: 'failure', error: err('malformed'), committed: false })).toBe('error');
  });
});

describe('isUsageContext / priceFor', () => {
  it('wants an app id and a known source', () => {
    expect(isUsageContext({ app_id: 'a', source: 'agent' })).toBe(true);
    expect(isUsageContext({ app_id: '', source: 'agent' })).toBe(false);
    expect(isUsageContext({ app_id: 'a', source: 'other' })).toBe(false);
    expect(isUsageContext(undefined)).toBe(false);
  });

  it('finds dated snapshots', () => {
    expect(priceFor({ upstreamModel: 'gpt-4o-mini-2024-07-18', model: 'x', requestedModel: 'x', provider: 'openai', startedAt: Date.now() }, prices)?.model).toBe('gpt-4o-mini');
  });
});
