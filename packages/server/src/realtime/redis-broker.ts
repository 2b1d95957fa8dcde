import { randomUUID } from 'node:crypto';
import type { ChatEvent } from '../chat/index.ts';
import { REDIS_RECONNECT_CAP_MS, type RedisLink } from '../redis/index.ts';
import { LocalBroker, type Broker, type ClusterSignal } from './broker.ts';

/** One channel for the whole cluster: one publishing connection per node keeps each node's events in order. */
export const EVENTS_CHANNEL = 'warbler:events';

type Envelope = { node: string; event: ChatEvent } | { node: string; signal: ClusterSignal };

export interface RedisBrokerOptions {
  /** How long after Redis returns the node asks its clients to resync: past every node's reconnect, so their publishers are back too. */
  resyncDelayMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Several nodes on Redis pub/sub. An event is delivered to this node's sockets
 * at once (as LocalBroker does, so a push still leaves before its ack) and
 * published for the others, which skip their own. While Redis is away,
 * publishing fails and is dropped: this node keeps serving its own clients,
 * and once Redis is back its clients are asked to reconnect, which makes them
 * sync from their seq cursors and so recover whatever the others published
 * meanwhile.
 */
export class RedisBroker implements Broker {
  readonly node = randomUUID();
  private readonly local = new LocalBroker();
  private readonly signalHandlers = new Set<(signal: ClusterSignal) => void>();
  private readonly resyncHandlers = new Set<() => void>();
  private readonly resyncDelayMs: number;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lostWhileDown = false;
  private readonly stopWatching: () => void;
  /** Events that could not be published (Redis away): counted for logs and tests. */
  dropped = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly options: RedisBrokerOptions = {},
  ) {
    this.resyncDelayMs = options.resyncDelayMs ?? 2 * REDIS_RECONNECT_CAP_MS + 500;
    link.subscriber.on('message', (channel: string, data: string) => {
      if (channel === EVENTS_CHANNEL) this.receive(data);
    });
    void link.subscriber.subscribe(EVENTS_CHANNEL).catch((err: unknown) => options.onError?.(err));
    // A node that starts while Redis is down has missed nothing yet, but its clients may: resync on the first link too.
    this.lostWhileDown = !link.up;
    this.stopWatching = link.onChange((up) => this.linkChanged(up));
  }

  get connected(): boolean {
    return this.link.up;
  }

  publish(event: ChatEvent): void {
    this.local.publish(event);
    this.send({ node: this.node, event });
  }

  subscribe(handler: (event: ChatEvent) => void): () => void {
    return this.local.subscribe(handler);
  }

  signal(signal: ClusterSignal): void {
    this.send({ node: this.node, signal });
  }

  onSignal(handler: (signal: ClusterSignal) => void): () => void {
    this.signalHandlers.add(handler);
    return () => this.signalHandlers.delete(handler);
  }

  onResync(handler: () => void): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  async close(): Promise<void> {
    this.stopWatching();
    clearTimeout(this.resyncTimer);
    this.signalHandlers.clear();
    this.resyncHandlers.clear();
    await this.local.close();
  }

  private send(envelope: Envelope): void {
    if (!this.link.up) {
      this.dropped++;
      this.lostWhileDown = true;
      return;
    }
    this.link.commands.publish(EVENTS_CHANNEL, JSON.stringify(envelope)).catch(() => {
      this.dropped++;
      this.lostWhileDown = true;
    });
  }

  private receive(data: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(data) as Envelope;
    } catch (err) {
      this.options.onError?.(err);
      return;
    }
    if (envelope.node === this.node) return;
    if ('event' in envelope) this.local.publish(envelope.event);
    else for (const handler of this.signalHandlers) handler(envelope.signal);
  }

  private linkChanged(up: boolean): void {
    clearTimeout(this.resyncTimer);
    if (!up) {
      this.lostWhileDown = true;
      return;
    }
    if (!this.lostWhileDown) return;
    this.resyncTimer = setTimeout(() => {
      if (!this.link.up) return;
      this.lostWhileDown = false;
      for (const handler of this.resyncHandlers) handler();
    }, this.resyncDelayMs);
    this.resyncTimer.unref();
  }
}
