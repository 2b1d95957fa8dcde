import { createHmac, randomBytes } from 'node:crypto';
import type { WidgetIdentity } from '@warbler/protocol';
import { safeEqual } from '../auth/secrets.ts';
import { WarblerError } from '../errors.ts';

/** A signed identity lives at most this long: it bounds how long Warbler must remember it to refuse a replay. */
export const MAX_IDENTITY_TTL_SECONDS = 24 * 3600;

/** A new identity verification secret, shown to the operator once. */
export function mintIdentitySecret(): string {
  return `wis_${randomBytes(32).toString('base64url')}`;
}

/** What the company's backend computes: HMAC-SHA256 over `${user_id}.${expires_at}`, hex. */
export function signIdentity(secret: string, userId: string, expiresAt: number): string {
  return createHmac('sha256', secret).update(`${userId}.${expiresAt}`).digest('hex');
}

const refused = (message: string) => new WarblerError('unauthorized', message);

/** Throws unless the signature is the secret's, in date, and not too far ahead; the caller refuses replays. */
export function checkIdentity(secret: string | undefined, identity: WidgetIdentity, nowMs: number): void {
  if (!secret) {
    throw new WarblerError('forbidden', "This app has no identity verification secret: its operator mints one (POST /api/widget/identity-secret) and the company's backend signs with it.");
  }
  if (!safeEqual(signIdentity(secret, identity.user_id, identity.expires_at), identity.signature)) {
    throw refused("The visitor's identity signature does not match: sign `${user_id}.${expires_at}` with HMAC-SHA256 and the app's identity secret, in hex.");
  }
  const now = Math.floor(nowMs / 1000);
  if (identity.expires_at <= now) throw refused("The visitor's signed identity has expired: the page must carry a fresh one from the company's backend.");
  if (identity.expires_at > now + MAX_IDENTITY_TTL_SECONDS) {
    throw refused(`The visitor's signed identity expires more than ${MAX_IDENTITY_TTL_SECONDS / 3600} hours ahead; sign one that lives shorter (minutes are enough).`);
  }
}
