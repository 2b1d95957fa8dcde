import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis, type TestRedis } from '../../test/redis.ts';
import { RedisLink } from './connection.ts';

describe.skipIf(!redisAvailable())('RedisLink', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.remove();
  });

  it('says when Redis goes and comes back, and closes promptly while it is away', async () => {
    const warnings: string[] = [];
    const link = new RedisLink(redis.url, (m) => warnings.push(m));
    await link.ready(5_000);
    const changes: boolean[] = [];
    link.onChange((up) => changes.push(up));
    const wentDown = () => new Promise<void>((resolve) => link.onChange((up) => !up && resolve()));
    const down = wentDown();
    await redis.stop(true);
    await down;
    expect(link.up).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('Redis is unavailable')]);
    await redis.start();
    await link.ready(10_000);
    expect(changes).toEqual([false, true]);
    const downAgain = wentDown();
    await redis.stop(true);
    await downAgain;
    const t0 = Date.now();
    await link.close();
    expect(Date.now() - t0).toBeLessThan(2_000);
    await redis.start();
  });
});
