import { describe, expect, it } from 'vitest';
import { axisTicks, csvField, daysBetween, latencyByKey, niceCeiling, toCsv, type LedgerCall, type UsageRow } from './usage.ts';

const call = (over: Partial<LedgerCall>): LedgerCall => ({ id: 'l', model: 'gpt-4o-mini', upstream_model: null, agent_id: null, key_id: null, purpose: null, latency_ms: 100, created_at: Date.UTC(2026, 0, 2, 12), ...over });

describe('usage table helpers', () => {
  it('averages latency per group the way the server groups', () => {
    const calls = [call({ latency_ms: 100 }), call({ latency_ms: 300 }), call({ upstream_model: 'gpt-4o-mini-2024-07-18', latency_ms: 50 })];
    expect(latencyByKey(calls, 'model')).toEqual(new Map([['gpt-4o-mini', 200], ['gpt-4o-mini-2024-07-18', 50]]));
    expect(latencyByKey(calls, 'day')).toEqual(new Map([['2026-01-02', 150]]));
    expect(latencyByKey(calls, 'agent')).toEqual(new Map([[null, 150]]));
    const memory = [call({ purpose: 'reply', latency_ms: 100 }), call({ purpose: 'summary', latency_ms: 900 }), call({ latency_ms: 50 })];
    expect(latencyByKey(memory, 'purpose')).toEqual(new Map([['reply', 100], ['summary', 900], [null, 50]]));
  });

  it('rounds the axis of a chart up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeiling(0)).toBe(0);
    expect(niceCeiling(7)).toBe(10);
    expect(niceCeiling(130)).toBe(200);
    expect(niceCeiling(0.0003)).toBeCloseTo(0.0005);
  });

  it('lists every day of a range in UTC', () => {
    expect(daysBetween(Date.UTC(2026, 0, 30), Date.UTC(2026, 1, 2))).toEqual(['2026-01-30', '2026-01-31', '2026-02-01']);
  });

  it('writes CSV a spreadsheet reads safely: quoted where needed, formulas defused', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField(null)).toBe('');
    const row: UsageRow = { key: 'gpt-4o-mini', attempts: 2, failed: 1, inFlight: 0, estimated: 0, outcomes: {}, promptTokens: 10, cachedTokens: 0, completionTokens: 5, reasoningTokens: 0, cost: { USD: '0.000012' }, costUsd: 0.000012, avgLatencyMs: 120 };
    expect(toCsv([row], 'model')).toBe(
      'model,calls,failed,prompt_tokens,cached_tokens,completion_tokens,reasoning_tokens,cost_usd,cost_by_currency,avg_latency_ms\r\n'
      + 'gpt-4o-mini,2,1,10,0,5,0,0.000012,0.000012 USD,120\r\n',
    );
  });
});

describe('axis ticks', () => {
  it('steps by 1, 2 or 5 times a power of ten, up to at least the largest value', () => {
    expect(axisTicks(37)).toEqual([0, 10, 20, 30, 40]);
    expect(axisTicks(0.00094)).toEqual([0, 0.0005, 0.001]);
    expect(axisTicks(5)).toEqual([0, 2, 4, 6]);
    expect(axisTicks(1)).toEqual([0, 0.5, 1]);
    expect(axisTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(axisTicks(0)).toEqual([0, 1]);
  });
});
