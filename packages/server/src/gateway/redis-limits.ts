import type { Redis } from 'ioredis';
import { OpenAiError } from './errors.ts';
import { RateLimits, type KeyLimits, type LimitCheck } from './limits.ts';

// The same token buckets as RateLimits (a minute's allowance, continuous
// refill, reservations never below zero, debt for replies longer than
// reserved), kept in Redis and changed by one Lua script per call, so every
// node takes from one bucket per key and two nodes cannot both spend its
// last request. Redis's clock (TIME) is the only clock, so nodes whose
// clocks disagree still agree on the refill.
const BUCKET = `
local MINUTE = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function load(key, cap)
  if cap < 0 then return nil end
  local v = redis.call('HMGET', key, 'level', 'at', 'cap')
  local level, at, old = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  if not level then return { key = key, level = cap, at = now, cap = cap } end
  if old ~= cap then level = level / old * cap end
  if now > at then
    level = math.min(cap, level + (now - at) * cap / MINUTE)
    at = now
  end
  return { key = key, level = level, at = at, cap = cap }
end
local function waitFor(b, n)
  if b.level >= n then return 0 end
  return math.ceil((n - b.level) * MINUTE / b.cap)
end
local function save(b)
  redis.call('HSET', b.key, 'level', tostring(b.level), 'at', tostring(b.at), 'cap', tostring(b.cap))
  redis.call('PEXPIRE', b.key, waitFor(b, b.cap) + MINUTE)
end
local function state(b)
  if not b then return -1, -1 end
  return math.max(0, math.floor(b.level)), waitFor(b, b.cap)
end
`;

const TAKE = `${BUCKET}
local rpm, tpm, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local r, tk = load(KEYS[1], rpm), load(KEYS[2], tpm)
local ok, kind, retry, tooLarge = 1, '', 0, 0
if r and r.level < 1 then
  ok, kind, retry = 0, 'requests', waitFor(r, 1)
elseif tk and (n > tk.cap or tk.level < n or tk.level <= 0) then
  ok, kind = 0, 'tokens'
  if n > tk.cap then tooLarge = 1 end
  retry = waitFor(tk, math.max(1, math.min(n, tk.cap)))
end
if ok == 1 then
  if r then r.level = r.level - 1 end
  if tk then tk.level = tk.level - n end
end
if r then save(r) end
if tk then save(tk) end
local rr, rs = state(r)
local tr, ts = state(tk)
return { ok, kind, retry, tooLarge, rr, rs, tr, ts }
`;

const SETTLE = `${BUCKET}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local b = load(KEYS[1], tonumber(redis.call('HGET', KEYS[1], 'cap')))
b.level = math.min(b.cap, b.level - tonumber(ARGV[1]))
save(b)
return 1
`;

type TakeReply = [number, string, number, number, number, number, number, number];

interface LimitCommands {
  warblerTakeLimits(requestsKey: string, tokensKey: string, rpm: number, tpm: number, tokens: number): Promise<TakeReply>;
  warblerSettleTokens(tokensKey: string, delta: number): Promise<number>;
}

export interface RedisRateLimitsOptions {
  /** While Redis cannot answer: count on this node alone (open), or refuse calls (closed). */
  onError: 'open' | 'closed';
  warn?: (message: string) => void;
}

/** KeyLimits for several nodes: one set of buckets per key, in Redis. */
export class RedisRateLimits implements KeyLimits {
  private readonly redis: Redis & LimitCommands;
  /** Counts on this node while Redis is away and limits fail open: still a bound, if N× looser. */
  private readonly fallback = new RateLimits();
  private failing = false;

  constructor(
    redis: Redis,
    private readonly options: RedisRateLimitsOptions,
  ) {
    redis.defineCommand('warblerTakeLimits', { numberOfKeys: 2, lua: TAKE });
    redis.defineCommand('warblerSettleTokens', { numberOfKeys: 1, lua: SETTLE });
    this.redis = redis as Redis & LimitCommands;
  }

  async take(keyId: string, rpm: number | null, tpm: number | null, tokens: number): Promise<LimitCheck> {
    let reply: TakeReply;
    try {
      reply = await this.redis.warblerTakeLimits(requestsKey(keyId), tokensKey(keyId), rpm ?? -1, tpm ?? -1, tokens);
    } catch (err) {
      this.noteFailure(err);
      if (this.options.onError === 'open') return this.fallback.take(keyId, rpm, tpm, tokens);
      throw new OpenAiError(503, 'Rate limits cannot be checked right now (the cluster\'s Redis is unreachable). Retry in a few seconds.', 'server_error', 'limits_unavailable', null, { 'retry-after': '2' });
    }
    this.noteRecovery();
    const [ok, kind, retryAfterMs, tooLarge, rRemaining, rReset, tRemaining, tReset] = reply;
    const check: LimitCheck = { ok: ok === 1 };
    if (!check.ok) {
      check.kind = kind as 'requests' | 'tokens';
      check.retryAfterMs = retryAfterMs;
      check.tooLarge = tooLarge === 1;
    }
    if (rpm !== null) check.requests = { limit: rpm, remaining: rRemaining, resetMs: rReset };
    if (tpm !== null) check.tokens = { limit: tpm, remaining: tRemaining, resetMs: tReset };
    return check;
  }

  settle(keyId: string, reserved: number, used: number): void {
    if (used === reserved) return;
    this.redis.warblerSettleTokens(tokensKey(keyId), used - reserved).then(
      () => this.noteRecovery(),
      (err: unknown) => {
        this.noteFailure(err);
        this.fallback.settle(keyId, reserved, used);
      },
    );
  }

  forget(keyId: string): void {
    this.fallback.forget(keyId);
    // A changed limit is rescaled by the script anyway; deleting also drops a revoked key's buckets at once.
    this.redis.del(requestsKey(keyId), tokensKey(keyId)).catch((err: unknown) => this.noteFailure(err));
  }

  private noteFailure(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    const how = this.options.onError === 'open' ? 'counting on this node alone' : 'refusing /v1 calls of keys with limits';
    this.options.warn?.(`Gateway key limits cannot reach Redis (${err instanceof Error ? err.message : String(err)}): ${how} until it returns`);
  }

  private noteRecovery(): void {
    this.failing = false;
  }
}

// The hash tag keeps a key's two buckets in one slot, as a script touching both needs on Redis Cluster.
const requestsKey = (keyId: string) => `warbler:limits:{${keyId}}:requests`;
const tokensKey = (keyId: string) => `warbler:limits:{${keyId}}:tokens`;
