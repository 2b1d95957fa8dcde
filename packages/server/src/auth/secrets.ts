import { createHash, timingSafeEqual } from 'node:crypto';
import { newSecret } from '../ids.ts';

/**
 * App secrets carry their app id so a request can be routed to the right app
 * without a lookup table: `wsk.<app id>.<random>`. Only a SHA-256 of the
 * secret is stored; the random part has 256 bits, so a slow hash buys nothing.
 */
export function mintAppSecret(appId: string): string {
  return `wsk.${appId}.${newSecret()}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Returns the app id inside an app secret, or undefined when it is not one. */
export function appIdOfSecret(secret: string): string | undefined {
  const m = /^wsk\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{20,}$/.exec(secret);
  return m?.[1];
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
