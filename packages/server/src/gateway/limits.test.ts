import { describe, expect, it } from 'vitest';
import { formatReset, rateLimitHeaders, RateLimits } from './limits.ts';

describe('RateLimits', () => {
  it('lets a key burst its RPM, then refills continuously', () => {
    let now = 0;
    const limits = new RateLimits(() => now);
    for (let i = 0; i < 3; i++) expect(limits.take('k', 3, null, 0)).toMatchObject({ ok: true, requests: { limit: 3, remaining: 2 - i } });
    const refused = limits.take('k', 3, null, 0);
    expect(refused).toMatchObject({ ok: false, kind: 'requests', requests: { remaining: 0 } });
    // One request's worth comes back after a third of a minute.
    expect(refused.retryAfterMs).toBe(20_000);
    now = 19_999;
    expect(limits.take('k', 3, null, 0).ok).toBe(false);
    now = 20_000;
    expect(limits.take('k', 3, null, 0).ok).toBe(true);
    expect(limits.take('other', 3, null, 0).ok).toBe(true);
  });

  it('reserves prompt tokens and settles with what was used, debt included', () => {
    let now = 0;
    const limits = new RateLimits(() => now);
    expect(limits.take('k', null, 1000, 100)).toMatchObject({ ok: true, tokens: { remaining: 900 } });
    limits.settle('k', 100, 1500);
    const refused = limits.take('k', null, 1000, 10);
    expect(refused).toMatchObject({ ok: false, kind: 'tokens', tokens: { remaining: 0 } });
    // In debt by 500: back to 10 tokens after 510/1000 of a minute.
    expect(refused.retryAfterMs).toBe(30_600);
    now = 30_600;
    expect(limits.take('k', null, 1000, 10).ok).toBe(true);
    // A refund never fills past the limit.
    limits.settle('k', 10_000, 0);
    expect(limits.take('k', null, 1000, 0).tokens?.remaining).toBe(1000);
  });

  it('refuses a prompt larger than the whole TPM as too large, and takes nothing when one limit refuses', () => {
    const limits = new RateLimits(() => 0);
    expect(limits.take('k', 10, 100, 101)).toMatchObject({ ok: false, kind: 'tokens', tooLarge: true, requests: { remaining: 10 } });
    expect(limits.take('k', 10, 100, 50)).toMatchObject({ ok: true, requests: { remaining: 9 }, tokens: { remaining: 50 } });
  });

  it('follows a changed limit, keeping the key\'s share, and forgets a key', () => {
    const limits = new RateLimits(() => 0);
    limits.take('k', 10, null, 0);
    expect(limits.take('k', 100, null, 0).requests?.remaining).toBe(89);
    limits.forget('k');
    expect(limits.take('k', 100, null, 0).requests?.remaining).toBe(99);
  });
});

describe('rate-limit headers', () => {
  it('formats resets like OpenAI', () => {
    expect(formatReset(0)).toBe('0s');
    expect(formatReset(120)).toBe('120ms');
    expect(formatReset(1500)).toBe('2s');
    expect(formatReset(360_000)).toBe('6m0s');
    expect(formatReset(61_000)).toBe('1m1s');
  });

  it('writes only the limits a key has', () => {
    const headers: Record<string, string> = {};
    rateLimitHeaders({ ok: true, requests: { limit: 60, remaining: 59, resetMs: 1000 } }, headers);
    expect(headers).toEqual({ 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s' });
  });
});
