// Shadow work waits here, behind live replies: a bounded queue run a few jobs
// at a time, each started only after the event loop has served what was
// already waiting (setImmediate), so a burst of replays never sits in front
// of a customer's reply. When the queue is full a new job is dropped and
// counted, never queued without bound.

export interface ShadowQueueOptions {
  /** Jobs waiting at most. Default 200. */
  capacity?: number;
  /** Jobs running at once. Default 4. */
  concurrency?: number;
  onError: (err: unknown) => void;
}

export class ShadowQueue {
  private readonly waiting: Array<() => Promise<void>> = [];
  private running = 0;
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: ShadowQueueOptions) {
    this.capacity = options.capacity ?? 200;
    this.concurrency = options.concurrency ?? 4;
  }

  /** False when the job was dropped (queue full or closing). */
  offer(job: () => Promise<void>): boolean {
    if (this.closed || this.waiting.length >= this.capacity) return false;
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
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      setImmediate(() => {
        job()
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
