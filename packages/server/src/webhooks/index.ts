// The webhooks room: endpoints, the durable outbox and its deliverer. It hears
// domain events (events/) and never imports the rooms that cause them.
import type { Kysely } from 'kysely';
import type { DomainEvents } from '../events/index.ts';
import { SecretBox } from '../llm/index.ts';
import { Outbound, type OutboundPolicy, type Resolve } from '../outbound/index.ts';
import { WebhookDeliverer, type DelivererLog, type DelivererSettings } from './deliverer.ts';
import { WebhookEndpoints } from './endpoints.ts';
import { WebhookOutbox } from './outbox.ts';
import { WebhookStore } from './webhook-store.ts';
import type { RowSealer } from '../store/index.ts';

export type { DelivererSettings } from './deliverer.ts';
export { webhookSettingsFrom } from './settings.ts';
export type { WebhookEndpoints } from './endpoints.ts';
export type { WebhookOutbox } from './outbox.ts';

export interface WebhooksOptions {
  /** The database; the room uses only its own tables. */
  db: Kysely<any>;
  /** Seals delivery bodies at rest (the at-rest room's row sealer); plaintext when absent. */
  sealer?: RowSealer;
  masterKey: string;
  policy: OutboundPolicy;
  settings: DelivererSettings;
  log: DelivererLog;
  /** Name resolution for deliveries (tests); the system resolver by default. */
  resolve?: Resolve;
}

export class Webhooks {
  readonly endpoints: WebhookEndpoints;
  readonly outbox: WebhookOutbox;
  private readonly deliverer: WebhookDeliverer;
  private readonly outbound: Outbound;
  private unlisten: (() => void) | undefined;

  constructor(options: WebhooksOptions) {
    const store = new WebhookStore(options.db, options.sealer);
    this.endpoints = new WebhookEndpoints(store, options.policy, new SecretBox(options.masterKey, { purpose: 'webhook-secrets' }));
    // Its own client, which follows no redirect: a receiver that moved must be given its new URL, not have a POST turned into a GET.
    this.outbound = new Outbound(options.policy, { maxRedirects: 0, ...(options.resolve && { resolve: options.resolve }) });
    this.deliverer = new WebhookDeliverer(store, this.endpoints, this.outbound, options.settings, options.log);
    this.outbox = new WebhookOutbox(store, this.endpoints, () => this.deliverer.kick());
  }

  /** Records every domain event to the outbox (awaited by the emitter, or in its transaction) and starts delivering. */
  start(events: DomainEvents): void {
    this.unlisten = events.stage(this.outbox);
    this.deliverer.start();
  }

  /** Stops hearing events and delivering; attempts in flight get `graceMs` to finish, the rest are sent after the next start. */
  async stop(graceMs: number): Promise<void> {
    this.unlisten?.();
    await this.deliverer.stop(graceMs);
    await this.outbound.close();
  }
}
