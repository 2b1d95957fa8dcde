import type { ChatEvent } from '../chat/index.ts';

/** What nodes tell each other besides chat events: a stop for a reply another node streams; an agent to reload. */
export type ClusterSignal =
  | { kind: 'stop_reply'; app_id: string; message_id: string; user_id?: string }
  | { kind: 'agent_changed'; app_id: string; agent_id: string }
  /** A knowledge base was deleted (no document id), or one of its documents added, replaced or deleted. */
  | { kind: 'knowledge_changed'; app_id: string; kb_id: string; document_id?: string }
  /** A deployment's circuit opened or closed: every node stops (or resumes) calling it. */
  | { kind: 'circuit_changed'; deployment: string; state: 'open'; opened_at: number }
  | { kind: 'circuit_changed'; deployment: string; state: 'closed' }
  /** A provider was added, edited or removed in the console: every node reloads its runtime routes. */
  | { kind: 'providers_changed' };

/**
 * The Broker port carries chat events to every node's hub, and signals to the
 * other nodes. In-process by default (RedisBroker for several nodes sharing
 * one PostgreSQL). Delivery across nodes is at most once: the seq in the store
 * is the truth, and clients fill gaps from it.
 */
export interface Broker {
  publish(event: ChatEvent): void;
  subscribe(handler: (event: ChatEvent) => void): () => void;
  /** Sends a signal to the other nodes (there are none in-process). */
  signal(signal: ClusterSignal): void;
  onSignal(handler: (signal: ClusterSignal) => void): () => void;
  /**
   * After events between nodes may have been lost (the link to the other
   * nodes was down and is back): the node's clients should resync by seq.
   */
  onResync(handler: () => void): () => void;
  /** Whether events reach the other nodes right now. */
  readonly connected: boolean;
  close(): Promise<void>;
}

/** Single-node broker: delivers synchronously, so a push leaves before the ack that caused it. */
export class LocalBroker implements Broker {
  private readonly handlers = new Set<(event: ChatEvent) => void>();
  readonly connected = true;

  publish(event: ChatEvent): void {
    for (const handler of this.handlers) handler(event);
  }

  subscribe(handler: (event: ChatEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  signal(): void {}

  onSignal(): () => void {
    return () => {};
  }

  onResync(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
