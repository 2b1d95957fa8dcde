// Webhook endpoints of an app: where its events go, which ones, and the secret
// they are signed with. A URL is judged by the outbound policy when it is saved
// (and again by the deliverer on every attempt, where the address is known).
import { randomBytes } from 'node:crypto';
import type { WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointUpdate, WebhookEventType } from '@warbler/protocol';
import { badRequest, notFound, WarblerError } from '../errors.ts';
import type { SecretBox } from '../llm/index.ts';
import { explainRefusal, type OutboundPolicy } from '../outbound/index.ts';
import { newEndpointSecret, secretPrefix } from './signature.ts';
import type { EndpointRow, WebhookStore } from './webhook-store.ts';

/** An app has at most this many endpoints: each event is one outbox row per endpoint. */
export const MAX_ENDPOINTS_PER_APP = 20;
/** How long a rotated-out secret still signs deliveries (beside the new one). */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 3_600_000;
/** How long an app's list of endpoints is reused by the outbox before it is read again (changes on this node apply at once). */
const CACHE_MS = 5_000;

export const newWebhookId = (prefix: 'whe' | 'evt' | 'whd', now = Date.now()) =>
  `${prefix}_${now.toString(36).padStart(9, '0')}${randomBytes(10).toString('base64url')}`;

export function endpointView(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: JSON.parse(row.event_types) as WebhookEventType[],
    enabled: row.enabled === 1,
    secret_prefix: row.secret_prefix,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export class WebhookEndpoints {
  private readonly cache = new Map<string, { at: number; rows: Promise<EndpointRow[]> }>();

  constructor(
    private readonly store: WebhookStore,
    private readonly policy: OutboundPolicy,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  async create(appId: string, input: WebhookEndpointCreate): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const url = this.vet(input.url);
    if ((await this.store.countEndpoints(appId)) >= MAX_ENDPOINTS_PER_APP) {
      throw new WarblerError('conflict', `An app can have at most ${MAX_ENDPOINTS_PER_APP} webhook endpoints: delete one, or send several event types to one endpoint.`);
    }
    const now = this.now();
    const id = newWebhookId('whe', now);
    const secret = newEndpointSecret();
    const row: EndpointRow = {
      app_id: appId, id, url, description: input.description ?? '', event_types: JSON.stringify(unique(input.event_types ?? [])),
      enabled: input.enabled === false ? 0 : 1, secret: this.box.seal(secret, sealContext(appId, id)), secret_prefix: secretPrefix(secret),
      previous_secret: null, previous_secret_until: null, created_at: now, updated_at: now,
    };
    await this.store.createEndpoint(row);
    this.cache.delete(appId);
    return { endpoint: endpointView(row), secret };
  }

  async list(appId: string): Promise<WebhookEndpoint[]> {
    return (await this.store.listEndpoints(appId)).map(endpointView);
  }

  async get(appId: string, id: string): Promise<WebhookEndpoint> {
    return endpointView(await this.row(appId, id));
  }

  async update(appId: string, id: string, input: WebhookEndpointUpdate): Promise<WebhookEndpoint> {
    await this.row(appId, id);
    const url = input.url === undefined ? undefined : this.vet(input.url);
    const row = await this.store.updateEndpoint(appId, id, {
      ...(url !== undefined && { url }),
      ...(input.description !== undefined && { description: input.description }),
      ...(input.event_types !== undefined && { event_types: JSON.stringify(unique(input.event_types)) }),
      ...(input.enabled !== undefined && { enabled: input.enabled ? 1 : 0 }),
      updated_at: this.now(),
    });
    this.cache.delete(appId);
    if (!row) throw notFound('The webhook endpoint');
    return endpointView(row);
  }

  async delete(appId: string, id: string): Promise<void> {
    const deleted = await this.store.deleteEndpoint(appId, id);
    this.cache.delete(appId);
    if (!deleted) throw notFound('The webhook endpoint');
  }

  /** A new secret, shown once; the old one keeps signing beside it for a day, so receivers can switch without missing a delivery. */
  async rotateSecret(appId: string, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const old = await this.row(appId, id);
    const now = this.now();
    const secret = newEndpointSecret();
    const row = await this.store.updateEndpoint(appId, id, {
      secret: this.box.seal(secret, sealContext(appId, id)), secret_prefix: secretPrefix(secret),
      previous_secret: old.secret, previous_secret_until: now + PREVIOUS_SECRET_GRACE_MS, updated_at: now,
    });
    this.cache.delete(appId);
    if (!row) throw notFound('The webhook endpoint');
    return { endpoint: endpointView(row), secret };
  }

  /** The secrets a delivery is signed with now: the current one, and a rotated-out one still in its grace period. */
  signingSecrets(row: EndpointRow, now: number): string[] {
    const context = sealContext(row.app_id, row.id);
    const secrets = [this.box.open(row.secret, context)];
    if (row.previous_secret && (row.previous_secret_until ?? 0) > now) secrets.push(this.box.open(row.previous_secret, context));
    return secrets;
  }

  /** The app's enabled endpoints that want this event type (read at most every few seconds per app). */
  async subscribers(appId: string, type: WebhookEventType): Promise<EndpointRow[]> {
    const rows = await this.appEndpoints(appId);
    return rows.filter((r) => r.enabled === 1 && wants(r, type));
  }

  /** One endpoint as the cache has it; read from the store when the cache does not know it yet. */
  async cached(appId: string, id: string): Promise<EndpointRow | undefined> {
    return (await this.appEndpoints(appId)).find((r) => r.id === id) ?? this.store.getEndpoint(appId, id);
  }

  private async appEndpoints(appId: string): Promise<EndpointRow[]> {
    const now = this.now();
    let cached = this.cache.get(appId);
    if (!cached || now - cached.at > CACHE_MS) {
      cached = { at: now, rows: this.store.listEndpoints(appId) };
      this.cache.set(appId, cached);
      cached.rows.catch(() => this.cache.delete(appId));
      // Apps come and go; keep the map from growing without bound on a long-running node.
      if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
    }
    return cached.rows;
  }

  async row(appId: string, id: string): Promise<EndpointRow> {
    const row = await this.store.getEndpoint(appId, id);
    if (!row) throw notFound('The webhook endpoint');
    return row;
  }

  private vet(raw: string): string {
    const url = new URL(raw);
    const reason = this.policy.refusalBeforeSaving(url);
    if (reason) throw badRequest(`Warbler will not deliver webhooks to ${url.host}: ${explainRefusal(reason)}.`);
    return url.href;
  }
}

function wants(row: EndpointRow, type: WebhookEventType): boolean {
  const types = JSON.parse(row.event_types) as string[];
  return types.length === 0 || types.includes(type);
}

const unique = <T>(items: readonly T[]) => [...new Set(items)];
const sealContext = (appId: string, id: string) => `${appId}/webhook/${id}`;
