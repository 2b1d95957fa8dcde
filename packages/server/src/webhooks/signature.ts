// Stripe/Svix-style signatures: HMAC-SHA256 with the endpoint's secret over
// "id.timestamp.body", sent as `v1=<hex>`. The timestamp is signed, so a
// captured delivery cannot be replayed later than the receiver's window.
import { createHmac, randomBytes } from 'node:crypto';
import { webhookSignedContent } from '@warbler/protocol';

const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: 32 random bytes, base64url, with a prefix that says what it is. */
export function newEndpointSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** The part of a secret shown in lists: enough to tell two apart, far too little to sign with. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 4);
}

/** `v1=<hex>` for each secret, space-separated (two while a rotated-out secret is still honoured). */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  const content = webhookSignedContent(id, timestamp, body);
  return secrets.map((s) => `v1=${createHmac('sha256', s).update(content).digest('hex')}`).join(' ');
}
