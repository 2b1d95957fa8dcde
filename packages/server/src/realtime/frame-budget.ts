import type { ClientFrame } from '@warbler/protocol';
import { TokenBucket } from './rate.ts';

/**
 * What each request frame costs against its user's budget, in units of the
 * cheapest one. Roughly the server work it causes: a sync walks every
 * conversation of the user, a history page reads up to 200 messages, a ping
 * writes one small frame.
 */
export const FRAME_COST: Record<ClientFrame['type'], number> = {
  ping: 1,
  typing: 1,
  read: 1,
  delivered: 1,
  stop: 1,
  send: 2,
  edit: 2,
  recall: 2,
  history: 5,
  sync: 20,
};

export interface FrameBudgetLimits {
  /** Units a second a user may spend over all their sockets. */
  rate: number;
  /** Units saved up for a burst (a reconnect's sync and first history pages). */
  burst: number;
  /** Requests of one user being worked on at once; more are refused at once. */
  maxInFlight: number;
}

/**
 * One user's share of the server, shared by all their sockets: a
 * cost-weighted token bucket and a cap on requests in flight. Without it, a
 * client looping on `sync` kept the event loop busy enough to hold every
 * other user's ping for seconds; with it, the flood is refused cheaply
 * before it reaches the store, and every user's requests are bounded the same.
 */
export class FrameBudget {
  private readonly bucket: TokenBucket;
  private inFlight = 0;
  /** Sockets of this user sharing the budget; the gateway drops the budget when it reaches 0. */
  sockets = 0;

  constructor(private readonly limits: FrameBudgetLimits) {
    this.bucket = new TokenBucket(limits.rate, limits.burst);
  }

  /** Takes a frame's cost; false when the user is over budget (the frame is then refused, not queued). */
  admit(type: ClientFrame['type'], now = Date.now()): boolean {
    if (this.inFlight >= this.limits.maxInFlight) return false;
    return this.bucket.take(now, FRAME_COST[type]);
  }

  /** True when not even the cheapest frame fits: the frame need not be parsed. */
  exhausted(now = Date.now()): boolean {
    return this.inFlight >= this.limits.maxInFlight || !this.bucket.has(1, now);
  }

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }
}
