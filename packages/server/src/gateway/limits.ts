// Per-key request and token rate limits, in memory. A token bucket per key
// and kind: it holds up to a minute's allowance and refills continuously, so
// a key may burst its whole RPM at once and then gets a steady share. O(1)
// time and a few numbers of memory per key, whatever the limit.
//
// Tokens are reserved before the call — the prompt (o200k, or a quick upper
// estimate while it is small) plus the output the request may produce
// (max_tokens, or the default reservation) — and settled after it with what
// upstream reported. Reservations never take a bucket below zero, so a burst
// of concurrent calls cannot use more than the bucket held plus what the
// calls produce beyond their reservations (nothing, when they send
// max_tokens). A reply longer than reserved puts the bucket into debt: the
// key then waits until the refill pays it back.
//
// This is the in-process adapter of the KeyLimits port: each node counts on
// its own, right for one node. Several nodes share RedisRateLimits
// (redis-limits.ts), the same buckets kept in Redis.

const MINUTE_MS = 60_000;

class Bucket {
  level: number;
  at: number;

  constructor(
    public capacity: number,
    now: number,
  ) {
    this.level = capacity;
    this.at = now;
  }

  refill(now: number): void {
    if (now > this.at) {
      this.level = Math.min(this.capacity, this.level + ((now - this.at) * this.capacity) / MINUTE_MS);
      this.at = now;
    }
  }

  /** Ms until the bucket holds `n` again (0 when it does). */
  waitFor(n: number): number {
    return this.level >= n ? 0 : Math.ceil(((n - this.level) * MINUTE_MS) / this.capacity);
  }

  /** Ms until the bucket is full again: OpenAI's "reset" is the time back to the initial state. */
  get resetMs(): number {
    return this.waitFor(this.capacity);
  }
}

export interface LimitState {
  limit: number;
  remaining: number;
  resetMs: number;
}

/** What a check returns: headers to send either way, and whether the call may go on. */
export interface LimitCheck {
  ok: boolean;
  /** When refused: which limit, and how long to wait. */
  kind?: 'requests' | 'tokens';
  retryAfterMs?: number;
  /** The request would never fit the key's TPM. */
  tooLarge?: boolean;
  requests?: LimitState;
  tokens?: LimitState;
}

/** What a call reserved; settle() it once when the call ends. */
export interface Reservation {
  keyId: string;
  tokens: number;
}

/**
 * The port the gateway takes its key limits through: in-process (RateLimits)
 * or shared by every node (RedisRateLimits). `take` may refuse by throwing an
 * OpenAiError when the limits cannot be checked at all.
 */
export interface KeyLimits {
  take(keyId: string, rpm: number | null, tpm: number | null, tokens: number): LimitCheck | Promise<LimitCheck>;
  settle(keyId: string, reserved: number, used: number): void;
  forget(keyId: string): void;
}

export class RateLimits implements KeyLimits {
  private readonly requests = new Map<string, Bucket>();
  private readonly tokens = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Takes one request and `tokens` (the call's reservation) from the key's
   * buckets, or neither when either limit would be passed. A null limit is no limit.
   */
  take(keyId: string, rpm: number | null, tpm: number | null, tokens: number): LimitCheck {
    const now = this.now();
    const r = rpm === null ? undefined : this.bucket(this.requests, keyId, rpm, now);
    const t = tpm === null ? undefined : this.bucket(this.tokens, keyId, tpm, now);
    const check: LimitCheck = { ok: true };
    if (r && r.level < 1) {
      check.ok = false;
      check.kind = 'requests';
      check.retryAfterMs = r.waitFor(1);
    } else if (t && (tokens > t.capacity || t.level < tokens || t.level <= 0)) {
      check.ok = false;
      check.kind = 'tokens';
      check.tooLarge = tokens > t.capacity;
      check.retryAfterMs = t.waitFor(Math.max(1, Math.min(tokens, t.capacity)));
    }
    if (check.ok) {
      if (r) r.level -= 1;
      if (t) t.level -= tokens;
    }
    if (r) check.requests = { limit: rpm!, remaining: Math.max(0, Math.floor(r.level)), resetMs: r.resetMs };
    if (t) check.tokens = { limit: tpm!, remaining: Math.max(0, Math.floor(t.level)), resetMs: t.resetMs };
    return check;
  }

  /** Charges (or refunds) the difference between what a call reserved and what it used. */
  settle(keyId: string, reserved: number, used: number): void {
    const t = this.tokens.get(keyId);
    if (!t || used === reserved) return;
    t.refill(this.now());
    t.level = Math.min(t.capacity, t.level - (used - reserved));
  }

  /** Forget a key's buckets (it was revoked, or its limits changed). */
  forget(keyId: string): void {
    this.requests.delete(keyId);
    this.tokens.delete(keyId);
  }

  private bucket(map: Map<string, Bucket>, keyId: string, limit: number, now: number): Bucket {
    let b = map.get(keyId);
    if (!b) {
      b = new Bucket(limit, now);
      map.set(keyId, b);
    } else {
      if (b.capacity !== limit) {
        // The operator changed the limit: keep the key's debt or credit in proportion.
        b.level = (b.level / b.capacity) * limit;
        b.capacity = limit;
      }
      b.refill(now);
    }
    return b;
  }
}

/** OpenAI's duration format for reset headers: "1s", "6m0s", "120ms". */
export function formatReset(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const total = Math.ceil(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** The x-ratelimit-* headers of a check, onto `headers`. */
export function rateLimitHeaders(check: LimitCheck, headers: Record<string, string>): void {
  const { requests: r, tokens: t } = check;
  if (r) {
    headers['x-ratelimit-limit-requests'] = String(r.limit);
    headers['x-ratelimit-remaining-requests'] = String(r.remaining);
    headers['x-ratelimit-reset-requests'] = formatReset(r.resetMs);
  }
  if (t) {
    headers['x-ratelimit-limit-tokens'] = String(t.limit);
    headers['x-ratelimit-remaining-tokens'] = String(t.remaining);
    headers['x-ratelimit-reset-tokens'] = formatReset(t.resetMs);
  }
}
