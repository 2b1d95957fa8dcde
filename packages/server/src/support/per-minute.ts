import { WarblerError } from '../errors.ts';

/**
 * At most `limit` actions per key in any 60 s (a sliding count of minute
 * slots), for paths a support person or customer can repeat: copilot calls
 * (each is a paid model call), notes, CSAT attempts. Per node: with several
 * nodes the bound is per node, which keeps its purpose (no one runs up cost
 * or rows without end).
 */
export class PerMinute {
  private readonly counts = new Map<string, { minute: number; used: number; previous: number }>();

  constructor(private readonly limit: number, private readonly what: string) {}

  take(key: string, now = Date.now()): void {
    const minute = Math.floor(now / 60_000);
    let slot = this.counts.get(key);
    if (!slot || slot.minute < minute - 1) slot = { minute, used: 0, previous: 0 };
    else if (slot.minute === minute - 1) slot = { minute, used: 0, previous: slot.used };
    // The previous minute counts for the part of it still inside the window.
    const weight = 1 - (now % 60_000) / 60_000;
    if (slot.used + slot.previous * weight >= this.limit) {
      this.counts.set(key, slot);
      throw new WarblerError('rate_limited', `Too many ${this.what}: at most ${this.limit} a minute. Wait a little and try again.`);
    }
    slot.used++;
    this.counts.set(key, slot);
    if (this.counts.size > 50_000) this.sweep(minute);
  }

  private sweep(minute: number): void {
    for (const [key, slot] of this.counts) if (slot.minute < minute - 1) this.counts.delete(key);
  }
}
