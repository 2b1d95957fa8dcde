// The durable outbox: an event becomes one row per endpoint that wants it,
// written before the action that caused it answers its client, so a crash
// after that answer cannot lose the event; for an emitter that opens an
// EventTransaction (support), in the emitter's own transaction, so the change
// and its rows commit together or not at all. The deliverer sends the rows.
import type { WebhookDelivery, WebhookEvent, WebhookEventType } from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import type { Kysely } from 'kysely';
import type { DomainEvent, StagedListener, StagedWrite } from '../events/index.ts';
import { newWebhookId, type WebhookEndpoints } from './endpoints.ts';
import type { AttemptRow, DeliveryRow, WebhookStore } from './webhook-store.ts';

/** Manual sends (test events, redeliveries) one endpoint takes per minute on this node: a button pressed in a loop is refused. */
export const MANUAL_SENDS_PER_MINUTE = 20;

export function deliveryView(row: DeliveryRow, attempts: readonly AttemptRow[]): WebhookDelivery {
  return {
    id: row.id, endpoint_id: row.endpoint_id, event_id: row.event_id, event_type: row.event_type as WebhookEventType,
    status: row.status, attempts: row.attempts, next_attempt_at: row.status === 'pending' ? row.next_attempt_at : null,
    created_at: row.created_at, delivered_at: row.delivered_at,
    log: attempts.map((a) => ({ attempt: a.attempt, at: a.at, status_code: a.status_code, latency_ms: a.latency_ms, response: a.response, error: a.error })),
  };
}

export class WebhookOutbox implements StagedListener {
  private readonly manual = new Map<string, number[]>();

  constructor(
    private readonly store: WebhookStore,
    private readonly endpoints: WebhookEndpoints,
    /** Told when rows were written, so this node's deliverer starts at once rather than at its next poll. */
    private readonly onEnqueued: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The domain-event listener: writes the event for every endpoint that wants it; resolves once written. */
  readonly record = async (event: DomainEvent): Promise<void> => {
    const targets = await this.endpoints.subscribers(event.appId, event.type);
    if (targets.length === 0) return;
    const body = eventBody(newWebhookId('evt', event.at), event.type, event.appId, event.at, event.data);
    await this.store.enqueue(targets.map((t) => this.row(event.appId, t.id, body)));
    this.onEnqueued();
  };

  /**
   * The rows of `events` for every endpoint that wants them, sealed, ready
   * for the emitter's transaction to insert (see StagedListener).
   */
  async prepare(events: readonly DomainEvent[]): Promise<StagedWrite> {
    const rows: DeliveryRow[] = [];
    for (const event of events) {
      const targets = await this.endpoints.subscribers(event.appId, event.type);
      if (targets.length === 0) continue;
      const body = eventBody(newWebhookId('evt', event.at), event.type, event.appId, event.at, event.data);
      rows.push(...targets.map((t) => this.row(event.appId, t.id, body)));
    }
    const ready = await this.store.sealRows(rows);
    return {
      write: (tx: Kysely<any>) => this.store.insertSealed(ready, tx),
      committed: () => {
        if (ready.length > 0) this.onEnqueued();
      },
    };
  }

  /** Sends a `webhook.test` event to one endpoint (enabled or not: the test is how an operator checks a new receiver). */
  async sendTest(appId: string, endpointId: string): Promise<WebhookDelivery> {
    const endpoint = await this.endpoints.row(appId, endpointId);
    this.admitManual(appId, endpointId);
    const now = this.now();
    const body = eventBody(newWebhookId('evt', now), 'webhook.test', appId, now, { endpoint_id: endpoint.id, message: 'A test event from the Warbler console.' });
    return this.write(this.row(appId, endpoint.id, body));
  }

  /** Sends one delivery's event again, with its id and body, as a new delivery with its own attempts. */
  async redeliver(appId: string, deliveryId: string): Promise<WebhookDelivery> {
    const original = await this.store.getDelivery(appId, deliveryId);
    if (!original) throw new WarblerError('not_found', 'The delivery was not found in this app (deliveries are kept 30 days).');
    await this.endpoints.row(appId, original.endpoint_id);
    this.admitManual(appId, original.endpoint_id);
    return this.write({ ...this.row(appId, original.endpoint_id, original.body), event_id: original.event_id, event_type: original.event_type });
  }

  async deliveries(appId: string, endpointId: string, page: { limit: number; before?: number }): Promise<WebhookDelivery[]> {
    await this.endpoints.row(appId, endpointId);
    const rows = await this.store.listDeliveries(appId, endpointId, page);
    const attempts = await this.store.attemptsOf(rows.map((r) => r.id));
    return rows.map((r) => deliveryView(r, attempts.filter((a) => a.delivery_id === r.id)));
  }

  /** Deliveries whose event names the user (a user's export): id, endpoint, type, status, times and the event as sent. */
  async naming(appId: string, userId: string): Promise<Array<Omit<WebhookDelivery, 'log'> & { event: unknown }>> {
    return (await this.store.deliveriesNaming(appId, userId)).map((r) => {
      const { log: _log, ...view } = deliveryView(r, []);
      return { ...view, event: JSON.parse(r.body) as unknown };
    });
  }

  /** Removes every delivery whose event names the user, pending or logged (a user's erasure); returns how many. */
  async forget(appId: string, userId: string): Promise<number> {
    return this.store.deleteDeliveries(appId, (await this.store.deliveriesNaming(appId, userId)).map((r) => r.id));
  }

  private async write(row: DeliveryRow): Promise<WebhookDelivery> {
    await this.store.enqueue([row]);
    this.onEnqueued();
    return deliveryView(row, []);
  }

  private row(appId: string, endpointId: string, body: string): DeliveryRow {
    const now = this.now();
    const event = JSON.parse(body) as WebhookEvent;
    return {
      id: newWebhookId('whd', now), app_id: appId, endpoint_id: endpointId, event_id: event.id, event_type: event.type, body,
      status: 'pending', attempts: 0, next_attempt_at: now, claimed_by: null, claimed_until: null, created_at: now, delivered_at: null,
    };
  }

  private admitManual(appId: string, endpointId: string): void {
    const key = `${appId}\n${endpointId}`;
    const now = this.now();
    const recent = (this.manual.get(key) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= MANUAL_SENDS_PER_MINUTE) {
      throw new WarblerError('rate_limited', `At most ${MANUAL_SENDS_PER_MINUTE} test events and redeliveries per endpoint per minute: wait a minute and try again.`);
    }
    recent.push(now);
    this.manual.delete(key);
    this.manual.set(key, recent);
    if (this.manual.size > 10_000) this.manual.delete(this.manual.keys().next().value as string);
  }
}

/** The exact JSON POSTed and signed; kept as text so every attempt sends the same bytes. */
function eventBody(id: string, type: string, appId: string, at: number, data: Record<string, unknown>): string {
  return JSON.stringify({ id, type, app_id: appId, created_at: at, data });
}
