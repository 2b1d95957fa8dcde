import { createHash, randomBytes } from 'node:crypto';
import { badRequest, notFound } from '../errors.ts';
import type { ApiKeyPatch, ApiKeyRow, GatewayStore } from '../store/index.ts';

/** A key as the admin API shows it: never the secret or its hash. */
export interface KeyView {
  id: string;
  name: string;
  /** The first characters of the secret, so people can tell keys apart. */
  prefix: string;
  allowed_models: string[] | null;
  monthly_budget_usd: number | null;
  rpm: number | null;
  tpm: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  metadata: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface KeyInput {
  name: string;
  allowed_models?: string[] | null;
  monthly_budget_usd?: number | null;
  rpm?: number | null;
  tpm?: number | null;
  expires_at?: number | null;
  metadata?: Record<string, unknown>;
}

export type KeyUpdate = Partial<KeyInput>;

export interface KeysOptions {
  /**
   * How long a key read from the store is trusted before it is read again.
   * Changes made through this node apply at once; this bounds how long another
   * node's revocation takes to reach this one. Default 5 s.
   */
  cacheMs?: number;
  /** Told when a key's limits change or it is revoked (the rate limiter forgets it). */
  onChange?: (keyId: string) => void;
  now?: () => number;
}

const SECRET_PREFIX = 'wk-';
const SHOWN_PREFIX = 10;
// Bounds memory when many distinct keys are used; a miss only costs one store read.
const MAX_CACHED = 10_000;

export const hashKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Whether a bearer credential is shaped like a virtual key (cheap, before hashing). */
export const looksLikeKey = (secret: string) => secret.startsWith(SECRET_PREFIX) && secret.length > 20;

const view = (k: ApiKeyRow): KeyView => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  allowed_models: k.allowed_models,
  monthly_budget_usd: k.monthly_budget_usd,
  rpm: k.rpm,
  tpm: k.tpm,
  expires_at: k.expires_at,
  revoked_at: k.revoked_at,
  metadata: k.metadata,
  created_at: k.created_at,
  updated_at: k.updated_at,
});

interface Cached {
  key: ApiKeyRow;
  until: number;
}

/**
 * Virtual API keys for the /v1 gateway: minted with 256 random bits, shown
 * once, stored as SHA-256 (a slow hash buys nothing at that entropy), found
 * by that hash on every request through a small cache.
 */
export class Keys {
  private readonly cache = new Map<string, Cached>();
  /** Secret → its SHA-256, so a key in use is hashed once, not on every request (~1 % of the gateway's CPU). */
  private readonly hashes = new Map<string, string>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: GatewayStore,
    private readonly options: KeysOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  async create(appId: string, input: KeyInput): Promise<{ key: KeyView; secret: string }> {
    checkInput(input);
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const row: ApiKeyRow = {
      app_id: appId,
      id: `key_${randomBytes(12).toString('base64url')}`,
      name: input.name,
      key_hash: hashKey(secret),
      prefix: secret.slice(0, SHOWN_PREFIX),
      allowed_models: input.allowed_models ?? null,
      monthly_budget_usd: input.monthly_budget_usd ?? null,
      rpm: input.rpm ?? null,
      tpm: input.tpm ?? null,
      expires_at: input.expires_at ?? null,
      revoked_at: null,
      metadata: input.metadata ?? {},
      created_at: now,
      updated_at: now,
    };
    await this.store.createApiKey(row);
    return { key: view(row), secret };
  }

  async list(appId: string): Promise<KeyView[]> {
    return (await this.store.listApiKeys(appId)).map(view);
  }

  async get(appId: string, keyId: string): Promise<KeyView> {
    const row = await this.store.getApiKey(appId, keyId);
    if (!row) throw notFound('The API key');
    return view(row);
  }

  async update(appId: string, keyId: string, update: KeyUpdate): Promise<KeyView> {
    checkInput(update);
    const patch: ApiKeyPatch = { updated_at: this.now() };
    for (const field of ['name', 'allowed_models', 'monthly_budget_usd', 'rpm', 'tpm', 'expires_at', 'metadata'] as const) {
      if (update[field] !== undefined) (patch as unknown as Record<string, unknown>)[field] = update[field];
    }
    return this.apply(appId, keyId, patch);
  }

  /** Stops the key at once on this node (within the cache time on others); revoking twice keeps the first time. */
  async revoke(appId: string, keyId: string): Promise<KeyView> {
    const row = await this.store.getApiKey(appId, keyId);
    if (!row) throw notFound('The API key');
    if (row.revoked_at !== null) return view(row);
    const now = this.now();
    return this.apply(appId, keyId, { revoked_at: now, updated_at: now });
  }

  /** The key a secret names, whatever its state (the caller checks expiry and revocation); undefined when none. */
  async find(secret: string): Promise<ApiKeyRow | undefined> {
    // Only secrets that named a key are remembered (below), so guessed ones cannot fill the map.
    const hash = this.hashes.get(secret) ?? hashKey(secret);
    const now = this.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.key;
    const key = await this.store.getApiKeyByHash(hash);
    if (!key) {
      this.cache.delete(hash);
      return undefined;
    }
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, { key, until: now + this.cacheMs });
    if (!this.hashes.has(secret)) {
      if (this.hashes.size >= MAX_CACHED) this.hashes.delete(this.hashes.keys().next().value!);
      this.hashes.set(secret, hash);
    }
    return key;
  }

  private async apply(appId: string, keyId: string, patch: ApiKeyPatch): Promise<KeyView> {
    const row = await this.store.updateApiKey(appId, keyId, patch);
    if (!row) throw notFound('The API key');
    this.cache.set(row.key_hash, { key: row, until: this.now() + this.cacheMs });
    this.options.onChange?.(row.id);
    return view(row);
  }
}

function checkInput(input: KeyUpdate): void {
  if (input.name !== undefined && (input.name.trim() === '' || input.name.length > 200)) throw badRequest('A key name is 1 to 200 characters.');
  if (input.allowed_models && input.allowed_models.some((m) => typeof m !== 'string' || m === '')) {
    throw badRequest('allowed_models is a list of model names (or null for every model).');
  }
  for (const field of ['rpm', 'tpm'] as const) {
    const v = input[field];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v <= 0)) throw badRequest(`${field} is a positive whole number (or null for no limit).`);
  }
  const budget = input.monthly_budget_usd;
  if (budget !== undefined && budget !== null && (!Number.isFinite(budget) || budget < 0)) throw badRequest('monthly_budget_usd is a number of dollars, 0 or more (or null for no budget).');
}
