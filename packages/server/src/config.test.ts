import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('uses the embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.databaseTimeoutMs).toBe(15_000);
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });

  it('reads ports and URLs from the environment', () => {
    const c = loadConfig({ WARBLER_PORT: '9000', WARBLER_DATABASE_URL: 'postgres://u@127.0.0.1/db' });
    expect(c.port).toBe(9000);
    expect(c.databaseUrl).toBe('postgres://u@127.0.0.1/db');
  });

  it('reads the database timeout and refuses one too short to mean anything', () => {
    expect(loadConfig({ WARBLER_DATABASE_TIMEOUT_MS: '2500' }).databaseTimeoutMs).toBe(2500);
    expect(() => loadConfig({ WARBLER_DATABASE_TIMEOUT_MS: '5' })).toThrow(/WARBLER_DATABASE_TIMEOUT_MS: must be at least 100/);
  });

  it('reads the Redis URL and what limits do while Redis is away, and refuses other URLs', () => {
    expect(loadConfig({}).redisUrl).toBeUndefined();
    expect(loadConfig({}).redisLimitsOnError).toBe('open');
    const c = loadConfig({ WARBLER_REDIS_URL: 'redis://127.0.0.1:6379/0', WARBLER_REDIS_LIMITS_ON_ERROR: 'closed' });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379/0');
    expect(c.redisLimitsOnError).toBe('closed');
    expect(() => loadConfig({ WARBLER_REDIS_URL: 'http://x' })).toThrow(/WARBLER_REDIS_URL: must be a redis:\/\//);
    expect(() => loadConfig({ WARBLER_REDIS_LIMITS_ON_ERROR: 'maybe' })).toThrow(/WARBLER_REDIS_LIMITS_ON_ERROR/);
    expect(loadConfig({}).batchLeaseMs).toBe(30_000);
    expect(() => loadConfig({ WARBLER_BATCH_LEASE_MS: '10' })).toThrow(/WARBLER_BATCH_LEASE_MS: must be at least 1000/);
  });

  it('names every bad variable and what is wrong with it', () => {
    expect(() => loadConfig({ WARBLER_PORT: 'eighty', WARBLER_DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    try {
      loadConfig({ WARBLER_PORT: 'eighty', WARBLER_DATABASE_URL: 'mysql://x' });
    } catch (err) {
      expect(String(err)).toMatch(/WARBLER_PORT/);
      expect(String(err)).toMatch(/WARBLER_DATABASE_URL: must be a postgres/);
    }
  });
});
