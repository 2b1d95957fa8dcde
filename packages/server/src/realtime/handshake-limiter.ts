import { TokenBucket } from './rate.ts';

/** Addresses remembered at most; the idlest are forgotten first (a full bucket is the same as a forgotten one). */
const MAX_ADDRESSES = 50_000;

/**
 * WebSocket handshakes per client address. Each handshake costs a token check
 * and a store read; a client reconnecting in a tight loop (or many sockets
 * from one host) would otherwise spend that for every attempt.
 */
export class HandshakeLimiter {
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
