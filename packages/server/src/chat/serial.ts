/**
 * Runs tasks one after another per key, different keys in parallel. Appends
 * to one conversation go through here so their pushes leave in seq order even
 * when the store completes transactions out of order.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(key);
    const next = tail ? tail.then(task, task) : task();
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}
