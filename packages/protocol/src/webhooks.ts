import { z } from 'zod';
import { Id } from './models.ts';

/**
 * Webhooks: what happened in an app, POSTed to the company's own URLs, signed
 * with a per-endpoint secret. The wire format (headers, what is signed) is
 * shared here so the server that signs and the SDK that verifies cannot drift.
 */

/** Events an endpoint can subscribe to. `webhook.test` is sent only by the test button, to one endpoint. */
export const WebhookEventType = z.enum([
  'conversation.created',
  'conversation.handoff',
  'conversation.assigned',
  'conversation.resolved',
  'conversation.reopened',
  'message.created',
  'csat.submitted',
  'audit.recorded',
  'webhook.test',
]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** Headers on every delivery (lower case, as HTTP/2 and Node give them). */
export const WEBHOOK_HEADERS = {
  /** The event's id: the same on every attempt and redelivery, so a receiver can drop duplicates. */
  id: 'warbler-webhook-id',
  /** Seconds since the epoch when this attempt was signed. */
  timestamp: 'warbler-webhook-timestamp',
  /** `v1=<hex HMAC-SHA256 of "id.timestamp.body">`; several, space-separated, while an old secret is still honoured. */
  signature: 'warbler-webhook-signature',
} as const;

/** How old a signed timestamp a receiver should accept, by default (seconds). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** What the signature covers: the event id, the timestamp and the raw body, joined by dots. */
export const webhookSignedContent = (id: string, timestamp: number | string, body: string) => `${id}.${timestamp}.${body}`;

/** The body of every delivery. `data` is per type; docs/webhooks.md lists each. */
export const WebhookEvent = z.object({
  id: Id,
  type: WebhookEventType,
  app_id: Id,
  created_at: z.number().int(),
  data: z.record(z.string(), z.unknown()),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** A receiver's URL: https (or http to a host the operator allowed), at most 2,000 characters. */
export const WebhookUrl = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL, like https://example.com/warbler-webhooks');

/** Subscribed event types; an empty list means every type (webhook.test excepted: it is never broadcast). */
export const WebhookEventFilter = z.array(WebhookEventType.exclude(['webhook.test'])).max(20);

export const WebhookEndpointCreate = z.object({
  url: WebhookUrl,
  description: z.string().max(500).optional(),
  event_types: WebhookEventFilter.optional(),
  enabled: z.boolean().optional(),
});
export type WebhookEndpointCreate = z.infer<typeof WebhookEndpointCreate>;

export const WebhookEndpointUpdate = WebhookEndpointCreate.partial();
export type WebhookEndpointUpdate = z.infer<typeof WebhookEndpointUpdate>;

export const WebhookEndpoint = z.object({
  id: Id,
  url: z.string(),
  description: z.string(),
  event_types: z.array(WebhookEventType),
  enabled: z.boolean(),
  /** The secret's first characters, so an operator can tell which one a receiver has. */
  secret_prefix: z.string(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

/** The create and rotate answers: the only time the whole secret is shown. */
export const WebhookEndpointWithSecret = z.object({ endpoint: WebhookEndpoint, secret: z.string() });
export type WebhookEndpointWithSecret = z.infer<typeof WebhookEndpointWithSecret>;

export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });
export type WebhookEndpointList = z.infer<typeof WebhookEndpointList>;

/** DELETE /api/webhooks/endpoints/{id} answers 200 with this (not 204), as it always has. */
export const WebhookEndpointDeleted = z.object({ deleted: z.literal(true) });
export type WebhookEndpointDeleted = z.infer<typeof WebhookEndpointDeleted>;

export const WebhookDeliveryStatus = z.enum(['pending', 'delivered', 'failed']);
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatus>;

export const WebhookAttempt = z.object({
  attempt: z.number().int(),
  at: z.number().int(),
  /** The receiver's HTTP status; null when there was none (refused, timed out, connection failed). */
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int(),
  /** The first 2 KB of the receiver's answer. */
  response: z.string(),
  error: z.string().nullable(),
});
export type WebhookAttempt = z.infer<typeof WebhookAttempt>;

export const WebhookDelivery = z.object({
  id: Id,
  endpoint_id: Id,
  event_id: Id,
  event_type: WebhookEventType,
  status: WebhookDeliveryStatus,
  attempts: z.number().int(),
  next_attempt_at: z.number().int().nullable(),
  created_at: z.number().int(),
  delivered_at: z.number().int().nullable(),
  /** Every attempt so far, oldest first. */
  log: z.array(WebhookAttempt),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookDeliveryList = z.object({ deliveries: z.array(WebhookDelivery) });

/** GET …/deliveries: newest first, a page at a time. */
export const WebhookDeliveryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('created_at of the last delivery of the previous page'),
});
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryList>;
