import { TokenBucket } from './rate.ts';

/** Addresses remembered at most; the idlest are forgotten first (a full bucket is the same as a forgotten one). */
const MAX_ADDRESSES = 50_000;

/**
 * A token bucket per client address: WebSocket handshakes (each costs a token
 * check and a store read, so a client reconnecting in a tight loop would
 * otherwise spend that on every attempt) and sign-ins by name.
 */
export class AddressLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  admit(address: string, now = Date.now()): boolean {
    let bucket = this.buckets.get(address);
    if (bucket) this.buckets.delete(address);
    else bucket = new TokenBucket(this.rate, this.burst, now);
    // Re-inserted, so the Map's order is least recently seen first.
    this.buckets.set(address, bucket);
    if (this.buckets.size > MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value as string);
    return bucket.take(now);
  }
}
