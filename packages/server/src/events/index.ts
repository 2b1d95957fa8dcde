// Domain events: what happened in an app that systems outside Warbler want to
// hear about (a support conversation was handed to a person, a message was
// created, a rating was given). Rooms that cause an event emit it here; the
// webhooks room listens and writes it to its durable outbox. The bus itself is
// synchronous and in-process: a listener that must not lose an event (the
// outbox) records it before the emitting call returns to its caller.

export type DomainEventType =
  | 'conversation.created'
  | 'conversation.handoff'
  | 'conversation.assigned'
  | 'conversation.resolved'
  | 'conversation.reopened'
  | 'message.created'
  | 'csat.submitted'
  | 'audit.recorded';

export interface DomainEvent {
  type: DomainEventType;
  appId: string;
  /** Milliseconds since the epoch, when it happened. */
  at: number;
  /** The event's payload, JSON-serialisable; its shape is documented per type in docs/webhooks.md. */
  data: Record<string, unknown>;
}

export type DomainEventListener = (event: DomainEvent) => void | Promise<void>;

export class DomainEvents {
  private readonly listeners = new Set<DomainEventListener>();

  constructor(private readonly onListenerError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  /** Adds a listener; returns the function that removes it. */
  on(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Tells every listener, and resolves once each has taken the event (so an
   * outbox write is done before the caller answers its client). A failing
   * listener is reported and never fails the action that caused the event.
   */
  async emit(event: Omit<DomainEvent, 'at'> & { at?: number }): Promise<void> {
    const full: DomainEvent = { ...event, at: event.at ?? Date.now() };
    await Promise.all([...this.listeners].map(async (listener) => {
      try {
        await listener(full);
      } catch (err) {
        this.onListenerError(err, full);
      }
    }));
  }
}
