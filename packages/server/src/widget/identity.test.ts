import { describe, expect, it } from 'vitest';
import { WarblerError } from '../errors.ts';
import { checkIdentity, mintIdentitySecret, signIdentity } from './identity.ts';

const now = Date.UTC(2026, 11, 4, 12) as number;
const at = (s: number) => Math.floor(now / 1000) + s;
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return err instanceof WarblerError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'accepted';
};

describe('signed visitor identities', () => {
  const secret = mintIdentitySecret();
  const signed = (userId: string, expiresAt: number, key = secret) => ({ user_id: userId, expires_at: expiresAt, signature: signIdentity(key, userId, expiresAt) });

  it('is HMAC-SHA256 over "user_id.expires_at" in hex, as docs/widget.md tells a backend to compute it', () => {
    // The same as `echo -n cust-42.1767225600 | openssl dgst -sha256 -hmac wis_test`: a backend in any language can match it.
    expect(signIdentity('wis_test', 'cust-42', 1767225600)).toBe('f26624d83502136ac66510cb97f652be0dd4d5fb75d60fa4ce5d31950ca3fd1d');
  });

  it('accepts a good one and refuses a forged, expired, far-future or secretless one, saying why', () => {
    expect(refusal(() => checkIdentity(secret, signed('cust-42', at(600)), now))).toBe('accepted');
    expect(refusal(() => checkIdentity(secret, signed('cust-42', at(600), 'wis_other'), now))).toMatch(/^unauthorized: .*does not match/);
    expect(refusal(() => checkIdentity(secret, { ...signed('cust-42', at(600)), user_id: 'cust-43' }, now))).toMatch(/does not match/);
    expect(refusal(() => checkIdentity(secret, signed('cust-42', at(0)), now))).toMatch(/^unauthorized: .*expired/);
    expect(refusal(() => checkIdentity(secret, signed('cust-42', at(86_401)), now))).toMatch(/more than 24 hours ahead/);
    expect(refusal(() => checkIdentity(undefined, signed('cust-42', at(600)), now))).toMatch(/^forbidden: .*identity-secret/);
  });
});
