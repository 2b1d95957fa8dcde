// An exact-match cache of non-streamed answers, per key, opt-in: a key whose
// metadata has `cache_ttl_seconds` gets the stored answer back for a request
// byte-for-byte the same as one it made before, as long as the request is
// deterministic (temperature 0, one choice). A hit costs nothing upstream and
// is one ledger row with outcome `cache_hit` at zero cost. In process (each
// node has its own), bounded by entries and bytes.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ChatRequest } from '../llm/index.ts';
import type { ApiKeyRow, LedgerRow } from '../store/index.ts';
import { newLedgerId } from '../usage/index.ts';

export interface CachedAnswer {
  body: Record<string, unknown>;
  deployment: string | null;
}

/** Longest TTL a key may ask for: a day. */
export const MAX_CACHE_TTL_SECONDS = 86_400;

/**
 * How long this key keeps answers to this request (ms), or 0 when it does
 * not: the key did not opt in, or the request may answer differently each
 * time (temperature unset or above 0, several choices).
 */
export function cacheTtlMs(key: ApiKeyRow | null, request: ChatRequest): number {
  const ttl = key?.metadata.cache_ttl_seconds;
  if (typeof ttl !== 'number' || !(ttl > 0)) return 0;
  if (request.temperature !== 0) return 0;
  const n = (request as unknown as { n?: unknown }).n;
  if (n !== undefined && n !== null && n !== 1) return 0;
  return Math.min(ttl, MAX_CACHE_TTL_SECONDS) * 1000;
}

export class ResponseCache {
  private readonly entries: LRUCache<string, CachedAnswer>;

  constructor(options: { maxEntries?: number; maxBytes?: number } = {}) {
    this.entries = new LRUCache<string, CachedAnswer>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (_v, k) => k.length + 1,
      ttlAutopurge: false,
    });
  }

  /** The cache key: the key's id and the request exactly as it goes upstream. */
  keyOf(keyId: string, request: ChatRequest): string {
    return createHash('sha256').update(keyId).update('\0').update(JSON.stringify(request)).digest('base64url');
  }

  get(cacheKey: string): CachedAnswer | undefined {
    const hit = this.entries.get(cacheKey);
    // A copy: callers may change the body they send (the Responses route reads it, restores may write).
    return hit && { body: structuredClone(hit.body), deployment: hit.deployment };
  }

  set(cacheKey: string, answer: CachedAnswer, ttlMs: number): void {
    const body = structuredClone(answer.body);
    this.entries.set(cacheKey, { body, deployment: answer.deployment }, { ttl: ttlMs, size: JSON.stringify(body).length + cacheKey.length });
  }
}

/** The ledger row of a cache hit: who asked, for which model, nothing billed. */
export function cacheHitRow(fields: { appId: string; keyId: string; requestId: string; source: 'gateway' | 'batch'; model: string; deployment: string | null; now: number }): LedgerRow {
  return {
    id: newLedgerId(), app_id: fields.appId, source: fields.source, agent_id: null, key_id: fields.keyId, user_id: null,
    conversation_id: null, message_id: null, request_id: fields.requestId, purpose: null,
    model: fields.model, deployment: fields.deployment, provider: null, upstream_model: null, attempt: 0,
    prompt_tokens: 0, cached_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, estimated: false,
    cost_nanos: 0n, currency: 'USD', price_id: null, ttft_ms: null, latency_ms: 0,
    outcome: 'cache_hit', error: null, created_at: fields.now,
  };
}
