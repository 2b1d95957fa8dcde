/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Whether `cost` tokens are there, without taking them. */
  has(cost: number, now = Date.now()): boolean {
    return Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate) >= cost;
  }

  /** Takes `cost` tokens if there are that many; nothing is taken otherwise. */
  take(now = Date.now(), cost = 1): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}
