import { describe, expect, it } from 'vitest';
import type { ApiKeyRow } from '../store/index.ts';
import { cacheHitRow, cacheTtlMs, ResponseCache } from './response-cache.ts';

const key = (metadata: Record<string, unknown>) => ({ id: 'k1', metadata }) as unknown as ApiKeyRow;
const ask = (extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0, ...extra });

describe('response cache', () => {
  it('caches only for keys that opt in, and only deterministic requests', () => {
    expect(cacheTtlMs(key({ cache_ttl_seconds: 60 }), ask())).toBe(60_000);
    expect(cacheTtlMs(key({ cache_ttl_seconds: 10 ** 9 }), ask())).toBe(86_400_000);
    expect(cacheTtlMs(key({}), ask())).toBe(0);
    expect(cacheTtlMs(key({ cache_ttl_seconds: '60' }), ask())).toBe(0);
    expect(cacheTtlMs(null, ask())).toBe(0);
    expect(cacheTtlMs(key({ cache_ttl_seconds: 60 }), ask({ temperature: 0.7 }))).toBe(0);
    expect(cacheTtlMs(key({ cache_ttl_seconds: 60 }), ask({ temperature: undefined }))).toBe(0);
    expect(cacheTtlMs(key({ cache_ttl_seconds: 60 }), ask({ n: 2 }))).toBe(0);
  });

  it('matches exactly, per key, returns copies, and forgets after the TTL', async () => {
    const cache = new ResponseCache();
    const k = cache.keyOf('k1', ask());
    expect(cache.keyOf('k2', ask())).not.toBe(k);
    expect(cache.keyOf('k1', ask({ max_tokens: 5 }))).not.toBe(k);
    cache.set(k, { body: { choices: [{ message: { content: 'a' } }] }, deployment: 'd' }, 30);
    const hit = cache.get(k)!;
    (hit.body.choices as Array<{ message: { content: string } }>)[0]!.message.content = 'changed';
    expect(cache.get(k)!.body).toEqual({ choices: [{ message: { content: 'a' } }] });
    await new Promise((r) => setTimeout(r, 50));
    expect(cache.get(k)).toBeUndefined();
  });

  it('a hit is a zero-cost ledger row that says so', () => {
    expect(cacheHitRow({ appId: 'a', keyId: 'k', requestId: 'r', source: 'gateway', model: 'm', deployment: 'd', now: 5 })).toMatchObject({ outcome: 'cache_hit', cost_nanos: 0n, prompt_tokens: 0, key_id: 'k', created_at: 5 });
  });
});
