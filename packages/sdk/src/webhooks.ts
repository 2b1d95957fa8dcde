// For a company's backend receiving Warbler's webhooks: checks the signature
// and the timestamp before the body is trusted. WebCrypto, so it runs in Node
// 20+, Deno, Bun, edge runtimes and browsers alike.
import { WEBHOOK_HEADERS, WEBHOOK_TOLERANCE_SECONDS, webhookSignedContent, type WebhookEvent } from '@warbler/protocol';

export interface VerifyWebhookOptions {
  /** The raw request body, exactly as received (parse it only after verifying). */
  body: string;
  /** The request's headers: a Headers object, or Node's IncomingHttpHeaders. */
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The endpoint's signing secret (whsec_…), from the console or the create/rotate answer. */
  secret: string;
  /** Oldest timestamp accepted, seconds; default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** Now, ms since the epoch (tests). */
  now?: number;
}

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

/**
 * Verifies a delivery and returns its parsed event; throws
 * WebhookVerificationError (answer 400) when a header is missing, the
 * timestamp is outside the window, or no signature matches. Drop an event
 * whose `id` you have already handled: delivery is at least once.
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<WebhookEvent> {
  const id = header(options.headers, WEBHOOK_HEADERS.id);
  const timestamp = header(options.headers, WEBHOOK_HEADERS.timestamp);
  const signatures = header(options.headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError(`Missing ${WEBHOOK_HEADERS.id}, ${WEBHOOK_HEADERS.timestamp} or ${WEBHOOK_HEADERS.signature} header.`);
  const seconds = Number(timestamp);
  const now = (options.now ?? Date.now()) / 1000;
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - seconds) > tolerance) {
    throw new WebhookVerificationError(`The timestamp is more than ${tolerance} s from now: a replay, or this machine's clock is wrong.`);
  }
  const expected = await hmacHex(options.secret, webhookSignedContent(id, timestamp, options.body));
  const ok = signatures.split(' ').some((s) => s.startsWith('v1=') && constantTimeEqual(s.slice(3), expected));
  if (!ok) throw new WebhookVerificationError('No signature matches: check the endpoint secret, and verify the raw body before any JSON parsing.');
  return JSON.parse(options.body) as WebhookEvent;
}

function header(headers: VerifyWebhookOptions['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

async function hmacHex(secret: string, content: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(content)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares every character, so the time taken does not tell an attacker how much of a guess was right. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
