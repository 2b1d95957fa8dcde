import { describe, expect, it } from 'vitest';
import type { ApiKeyPatch, ApiKeyRow, GatewayStore } from '../store/index.ts';
import { hashKey, Keys, looksLikeKey } from './keys.ts';

/** The key part of the store, in memory, counting reads by hash. */
function memoryStore() {
  const rows = new Map<string, ApiKeyRow>();
  const store = {
    byHashReads: 0,
    async createApiKey(k: ApiKeyRow) {
      rows.set(k.id, { ...k });
    },
    async getApiKeyByHash(h: string) {
      store.byHashReads++;
      return [...rows.values()].find((r) => r.key_hash === h);
    },
    async getApiKey(appId: string, id: string) {
      const r = rows.get(id);
      return r?.app_id === appId ? r : undefined;
    },
    async listApiKeys(appId: string) {
      return [...rows.values()].filter((r) => r.app_id === appId);
    },
    async updateApiKey(appId: string, id: string, patch: ApiKeyPatch) {
      const r = rows.get(id);
      if (!r || r.app_id !== appId) return undefined;
      const next = { ...r, ...patch };
      rows.set(id, next);
      return next;
    },
    /** Another node's write: straight to the rows, past this node's cache. */
    revokeElsewhere(id: string, at: number) {
      rows.set(id, { ...rows.get(id)!, revoked_at: at });
    },
  };
  return store;
}

describe('Keys', () => {
  it('mints wk- secrets shown once, stores only their SHA-256 and a short prefix', async () => {
    const store = memoryStore();
    const keys = new Keys(store as unknown as GatewayStore);
    const { key, secret } = await keys.create('app', { name: 'ci', rpm: 5 });
    expect(looksLikeKey(secret)).toBe(true);
    expect(key).not.toHaveProperty('key_hash');
    expect(key.prefix).toBe(secret.slice(0, 10));
    expect((await store.getApiKey('app', key.id))?.key_hash).toBe(hashKey(secret));
    const other = await keys.create('app', { name: 'ci' });
    expect(other.secret).not.toBe(secret);
    await expect(keys.create('app', { name: 'x', tpm: 0 })).rejects.toThrow(/tpm/);
    await expect(keys.get('other-app', key.id)).rejects.toThrow(/not found/);
  });

  it('serves lookups from a cache; a change made here applies at once, one made elsewhere within the cache time', async () => {
    let now = 1_000;
    const store = memoryStore();
    const changed: string[] = [];
    const keys = new Keys(store as unknown as GatewayStore, { cacheMs: 5_000, now: () => now, onChange: (id) => changed.push(id) });
    const { key, secret } = await keys.create('app', { name: 'k' });
    expect((await keys.find(secret))?.id).toBe(key.id);
    expect((await keys.find(secret))?.id).toBe(key.id);
    expect(store.byHashReads).toBe(1);

    await keys.update('app', key.id, { rpm: 7 });
    expect((await keys.find(secret))?.rpm).toBe(7);
    await keys.revoke('app', key.id);
    expect((await keys.find(secret))?.revoked_at).toBe(1_000);
    expect(changed).toEqual([key.id, key.id]);
    expect(store.byHashReads).toBe(1);

    const second = await keys.create('app', { name: 'k2' });
    await keys.find(second.secret);
    store.revokeElsewhere(second.key.id, 1_500);
    expect((await keys.find(second.secret))?.revoked_at).toBeNull();
    now += 5_001;
    expect((await keys.find(second.secret))?.revoked_at).toBe(1_500);
    expect(await keys.find('wk-unknownunknownunknown')).toBeUndefined();
  });
});
