// Domain events: what happened in an app that systems outside Warbler want to
// hear about (a support conversation was handed to a person, a message was
// created, a rating was given). Rooms that cause an event emit it here; the
// webhooks room listens and writes it to its durable outbox. The bus itself is
// synchronous and in-process: a listener that must not lose an event (the
// outbox) records it before the emitting call returns to its caller. A room
// whose change and event must commit together (support) opens an
// EventTransaction instead: the outbox writes its rows with the room's own
// transaction handle, so a crash between the two cannot keep one and lose the other.
import type { Kysely } from 'kysely';

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

/**
 * A listener that can write inside the emitter's transaction (the outbox).
 * `prepare` does everything but the write before the transaction (who
 * subscribes, sealing the bodies), so the transaction itself only inserts:
 * on SQLite a transaction holds the one connection, and a read through
 * another handle inside it would wait for ever. `record` is the plain path,
 * for events emitted without a transaction.
 */
export interface StagedListener {
  record: DomainEventListener;
  prepare(events: readonly DomainEvent[]): Promise<StagedWrite>;
}

export interface StagedWrite {
  /** Inside the emitter's transaction, with its handle; a failure rolls the change back. */
  write(tx: Kysely<any>): Promise<void>;
  /** After the commit (start delivering). */
  committed(): void;
}

/** Events to be written in the caller's transaction: `write(tx)` inside it, `committed()` after it commits. */
export interface EventTransaction {
  write(tx: Kysely<any>): Promise<void>;
  committed(): Promise<void>;
}

export class DomainEvents {
  private readonly listeners = new Set<DomainEventListener>();
  private readonly stagers = new Set<StagedListener>();

  constructor(private readonly onListenerError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  /** Adds a listener; returns the function that removes it. */
  on(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a listener that writes inside emitters' transactions; returns the function that removes it. */
  stage(listener: StagedListener): () => void {
    this.stagers.add(listener);
    return () => this.stagers.delete(listener);
  }

  /**
   * Prepares `events` to be written in the caller's transaction (their data
   * must be known before it starts). Nothing is told or written until
   * `write(tx)` inside the transaction and `committed()` after it.
   */
  async begin(events: ReadonlyArray<Omit<DomainEvent, 'at'> & { at?: number }>): Promise<EventTransaction> {
    const full: DomainEvent[] = events.map((e) => ({ ...e, at: e.at ?? Date.now() }));
    const writes = full.length ? await Promise.all([...this.stagers].map((s) => s.prepare(full))) : [];
    return {
      write: async (tx) => {
        for (const w of writes) await w.write(tx);
      },
      committed: async () => {
        for (const w of writes) w.committed();
        for (const event of full) await this.tell([...this.listeners], event);
      },
    };
  }

  /**
   * Tells every listener, and resolves once each has taken the event (so an
   * outbox write is done before the caller answers its client). A failing
   * listener is reported and never fails the action that caused the event.
   */
  async emit(event: Omit<DomainEvent, 'at'> & { at?: number }): Promise<void> {
    const full: DomainEvent = { ...event, at: event.at ?? Date.now() };
    await this.tell([...this.listeners, ...[...this.stagers].map((s) => s.record)], full);
  }

  private async tell(listeners: DomainEventListener[], full: DomainEvent): Promise<void> {
    await Promise.all(listeners.map(async (listener) => {
      try {
        await listener(full);
      } catch (err) {
        this.onListenerError(err, full);
      }
    }));
  }
}
