import { Redis, type RedisOptions } from 'ioredis';

/** How long one command may take before it counts as Redis being unavailable: a hung Redis must not hang requests. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;

/**
 * Reconnect at most every second, forever: a node outlives a Redis outage and
 * picks up again by itself. Short, so the nodes of a cluster come back within
 * about a second of each other (the broker's resync waits longer than this).
 */
export const REDIS_RECONNECT_CAP_MS = 1_000;

/**
 * A link to Redis shared by the cluster adapters: one connection for commands
 * and publishing, one for subscribing (a subscribed connection can do nothing
 * else). Commands fail at once while Redis is away (no offline queue), so
 * callers fall back instead of piling up; `up` says whether both connections
 * are ready, and `onChange` hears it flip.
 */
export class RedisLink {
  readonly commands: Redis;
  readonly subscriber: Redis;
  private readonly listeners = new Set<(up: boolean) => void>();
  private wasUp = false;

  constructor(url: string, private readonly warn: (message: string) => void = () => {}) {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), REDIS_RECONNECT_CAP_MS),
      connectionName: 'warbler',
      lazyConnect: false,
    };
    this.commands = new Redis(url, options);
    // The subscriber needs its queue: ioredis re-sends SUBSCRIBE on reconnect through it.
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    for (const client of [this.commands, this.subscriber]) {
      client.on('ready', () => this.check());
      client.on('close', () => this.check());
      // ioredis reports each failed reconnect as an error; the flip to down is logged once instead.
      client.on('error', () => {});
    }
  }

  get up(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once both connections are ready, or rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.up) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`Redis did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.onChange((up) => {
        if (!up) return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private check(): void {
    const up = this.up;
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (!up) this.warn('Redis is unavailable: serving this node\'s clients only until it returns');
    for (const listener of [...this.listeners]) listener(up);
  }
}
