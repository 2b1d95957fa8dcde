// Calls one holder (a gateway key, a user) has running at once on this node.
// Rate limits bound how many calls a holder starts per minute, but not how
// many it keeps open: fifty concurrent streams or uploads from one holder
// take a share of the event loop (and of libuv's file threads) that another
// tenant's calls then wait behind. Counting what is running, not what was
// started, bounds that share. Per node and in memory: it protects this
// node's event loop.
//
// A call over the cap waits for a turn for a while before it is refused.
// Refusing at once would turn a client that retries in a loop into a storm
// of refusals, each costing as much to answer as a small call; a waiting
// call costs a timer (and an upload waiting for its turn is not read: TCP
// holds the client back).
import type { StopSignal } from './llm/index.ts';

/** How long a call over the cap waits for one of its holder's calls to end before it is refused. */
export const TURN_WAIT_MS = 2_000;
/** Calls that may wait per slot; beyond that a holder is refused at once. */
const WAITING_PER_SLOT = 4;

interface Waiter {
  grant: (ok: boolean) => void;
}

export class Turns {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    readonly max: number,
    private readonly waitMs = TURN_WAIT_MS,
  ) {}

  /**
   * Takes a slot for the holder, waiting up to `waitMs` for one when it already
   * has `max` calls running. Resolves false when none came in time, too many
   * already wait, or `signal` aborts first. Give a slot back with leave().
   */
  enter(holder: string, signal?: StopSignal): Promise<boolean> {
    const now = this.running.get(holder) ?? 0;
    if (now < this.max) {
      this.running.set(holder, now + 1);
      return Promise.resolve(true);
    }
    const queue = this.waiting.get(holder) ?? [];
    if (queue.length >= this.max * WAITING_PER_SLOT || signal?.aborted) return Promise.resolve(false);
    this.waiting.set(holder, queue);
    return new Promise<boolean>((resolve) => {
      const give = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abandon);
        resolve(ok);
      };
      const waiter: Waiter = { grant: give };
      const abandon = () => {
        this.drop(holder, waiter);
        give(false);
      };
      const timer = setTimeout(abandon, this.waitMs);
      signal?.addEventListener('abort', abandon, { once: true });
      queue.push(waiter);
    });
  }

  /** Gives a slot back; the holder's longest-waiting call takes it over. */
  leave(holder: string): void {
    const next = this.waiting.get(holder)?.shift();
    if (next) {
      if (this.waiting.get(holder)!.length === 0) this.waiting.delete(holder);
      next.grant(true);
      return;
    }
    const now = this.running.get(holder) ?? 0;
    if (now <= 1) this.running.delete(holder);
    else this.running.set(holder, now - 1);
  }

  /** Calls the holder has running now. */
  of(holder: string): number {
    return this.running.get(holder) ?? 0;
  }

  private drop(holder: string, waiter: Waiter): void {
    const queue = this.waiting.get(holder);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.waiting.delete(holder);
  }
}
