import type { ChatEvent } from '../chat/index.ts';

/**
 * The Broker port carries chat events to every node's hub. In-process by
 * default; a Redis adapter can implement the same two methods for several
 * nodes sharing one PostgreSQL.
 */
export interface Broker {
  publish(event: ChatEvent): void;
  subscribe(handler: (event: ChatEvent) => void): () => void;
  close(): Promise<void>;
}

/** Single-node broker: delivers synchronously, so a push leaves before the ack that caused it. */
export class LocalBroker implements Broker {
  private readonly handlers = new Set<(event: ChatEvent) => void>();

  publish(event: ChatEvent): void {
    for (const handler of this.handlers) handler(event);
  }

  subscribe(handler: (event: ChatEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
