// Shadow work waits here, behind live replies: a bounded queue run a few jobs
// at a time, each started only after the event loop has served what was
// already waiting (setImmediate), so a burst of replays never sits in front
// of a customer's reply, and only while the event loop keeps up: when its
// delay (p99 over the last half second) is over `maxLagMs`, a job waits for a
// quieter moment (at most `maxWaitMs`). When the queue is full a new job is
// dropped and counted, never queued without bound.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface ShadowQueueOptions {
  /** Jobs waiting at most. Default 200. */
  capacity?: number;
  /** Jobs running at once. Default 4. */
  concurrency?: number;
  /** The event loop delay (p99, ms) above which no new job starts. Default 30. */
  maxLagMs?: number;
  /** Longest a job waits for the loop to calm down before it starts anyway. Default 5,000. */
  maxWaitMs?: number;
  onError: (err: unknown) => void;
}

/** The event loop's recent delay, sampled every half second. */
class LoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    if (this.timer) return;
    this.histogram.enable();
    this.timer = setInterval(() => {
      // The histogram counts the sampling resolution itself; what is above it is the delay.
      this.last = Math.max(0, this.histogram.percentile(99) / 1e6 - 10);
      this.histogram.reset();
    }, 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  get p99Ms(): number {
    return this.last;
  }
}

export class ShadowQueue {
  private readonly waiting: Array<() => Promise<void>> = [];
  private running = 0;
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly lag = new LoopLag();

  constructor(private readonly options: ShadowQueueOptions) {
    this.capacity = options.capacity ?? 200;
    this.concurrency = options.concurrency ?? 4;
  }

  /** False when the job was dropped (queue full or closing). */
  offer(job: () => Promise<void>): boolean {
    if (this.closed || this.waiting.length >= this.capacity) return false;
    this.lag.start();
    this.waiting.push(job);
    this.pump();
    return true;
  }

  get size(): number {
    return this.waiting.length + this.running;
  }

  /** Resolves when nothing waits or runs. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what waits and lets what runs finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    await this.idle();
    this.lag.stop();
  }

  /** Resolves once the loop's delay is under the limit, or the job has waited long enough. */
  private async quiet(): Promise<void> {
    const limit = this.options.maxLagMs ?? 30;
    const until = Date.now() + (this.options.maxWaitMs ?? 5_000);
    while (this.lag.p99Ms > limit && Date.now() < until && !this.closed) await new Promise((r) => setTimeout(r, 50));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      setImmediate(() => {
        this.quiet()
          .then(job)
          .catch((err) => this.options.onError(err))
          .finally(() => {
            this.running--;
            this.pump();
            if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
          });
      });
    }
  }
}
