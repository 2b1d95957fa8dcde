/**
 * The background loop of a knowledge base's queued work (uploads to parse,
 * websites to read again): `run` is called at once on start, then every
 * `pollMs`, and soon after a `kick`. Runs never overlap: a kick during a run
 * is remembered and causes exactly one more run right after it, so work that
 * arrived while the queue was being read is not left for the next poll.
 *
 * `run` reports its own errors (it must not reject) and should look at
 * `stopped` between items, so `stop` does not wait for a whole queue.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wake = false;
  private halted = true;

  /** `force` is true when called from `drain`: the run goes on to the end even if the loop is stopped. */
  constructor(private readonly run: (force: boolean) => Promise<void>, private readonly pollMs: number) {}

  /** True before `start` and after `stop`. */
  get stopped(): boolean {
    return this.halted;
  }

  start(): void {
    this.halted = false;
    this.schedule(0);
  }

  /** Takes no further runs and waits for the one in hand. */
  async stop(): Promise<void> {
    this.halted = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs soon (work just arrived); during a run, once more after it. */
  kick(): void {
    if (this.halted) return;
    if (this.running) {
      this.wake = true;
      return;
    }
    this.schedule(0);
  }

  /** Waits for the run in hand, then runs once more with `force`; `run` goes on until nothing is left. For tests and tools. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    await this.run(true);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.run(false).finally(() => {
        this.running = undefined;
        if (this.halted) return;
        const again = this.wake;
        this.wake = false;
        this.schedule(again ? 0 : this.pollMs);
      });
    }, ms);
    // A waiting poll never keeps the process alive.
    this.timer.unref();
  }
}
