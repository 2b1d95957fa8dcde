import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis, type TestRedis } from '../../test/redis.ts';
import { OpenAiError } from './errors.ts';
import { RedisRateLimits } from './redis-limits.ts';

describe.skipIf(!redisAvailable())('RedisRateLimits', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const limitsOn = (onError: 'open' | 'closed' = 'open') => {
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1_000, retryStrategy: () => 100 });
    client.on('error', () => {});
    clients.push(client);
    return { client, limits: new RedisRateLimits(client, { onError }) };
  };
  const ready = (c: Redis) => (c.status === 'ready' ? Promise.resolve() : new Promise((r) => c.once('ready', r)));

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.remove();
  });

  it('lets exactly RPM requests through, whichever node asks, at once', async () => {
    const nodes = [limitsOn(), limitsOn(), limitsOn()];
    await Promise.all(nodes.map((n) => ready(n.client)));
    const checks = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % 3]!.limits.take('key-rpm', 10, null, 0)));
    expect(checks.filter((c) => c.ok)).toHaveLength(10);
    const refused = checks.find((c) => !c.ok)!;
    expect(refused.kind).toBe('requests');
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.requests).toMatchObject({ limit: 10, remaining: 0 });
  });

  it('reserves prompt + max_tokens across nodes and gives back what a call did not use', async () => {
    const [a, b] = [limitsOn(), limitsOn()];
    await Promise.all([ready(a.client), ready(b.client)]);
    expect((await a.limits.take('key-tpm', null, 1_000, 600)).ok).toBe(true);
    const over = await b.limits.take('key-tpm', null, 1_000, 600);
    expect(over).toMatchObject({ ok: false, kind: 'tokens', tooLarge: false });
    expect((await b.limits.take('key-tpm', null, 1_000, 2_000)).tooLarge).toBe(true);
    // The first call used 100 of its 600: the 500 come back, so the second fits now.
    a.limits.settle('key-tpm', 600, 100);
    await a.client.ping();
    expect((await b.limits.take('key-tpm', null, 1_000, 600)).ok).toBe(true);
  });

  it('while Redis is away: open counts on the node, closed refuses with a 503 that says to retry', async () => {
    const open = limitsOn('open');
    const closed = limitsOn('closed');
    await Promise.all([ready(open.client), ready(closed.client)]);
    await redis.stop(true);
    try {
      const checks = [];
      for (let i = 0; i < 4; i++) checks.push(await open.limits.take('key-down', 3, null, 0));
      expect(checks.map((c) => c.ok)).toEqual([true, true, true, false]);
      const err = await closed.limits.take('key-down', 3, null, 0).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAiError);
      expect(err).toMatchObject({ status: 503, code: 'limits_unavailable' });
    } finally {
      await redis.start();
    }
    await ready(closed.client);
    expect((await closed.limits.take('key-down', 3, null, 0)).ok).toBe(true);
  });
});
