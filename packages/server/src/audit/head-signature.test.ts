import { randomBytes } from 'node:crypto';
import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headPayload, HeadSigner } from './head-signature.ts';

describe('the signed audit head', () => {
  const head = { app_id: 'app', seq: 7, hash: 'a'.repeat(64), at: 1_700_000_000_000 };

  it('verifies its own heads, refuses one with any field changed, and checks with the public key alone', () => {
    const signer = new HeadSigner({ current: randomBytes(32) });
    const signed = signer.sign(head);
    expect(signer.verify(signed)).toBe(true);
    expect(signer.verify({ ...signed, seq: 6 })).toBe(false);
    expect(signer.verify({ ...signed, hash: 'b'.repeat(64) })).toBe(false);
    expect(signer.verify({ ...signed, app_id: 'other' })).toBe(false);
    // An auditor with only the exported public key.
    const publicKey = createPublicKey(signer.publicKeyPem);
    expect(verify(null, headPayload(signed), publicKey, Buffer.from(signed.signature, 'base64url'))).toBe(true);
  });

  it('is the same key for the same seed; another seed neither verifies nor is mistaken for it', () => {
    const seed = randomBytes(32);
    const signed = new HeadSigner({ current: seed }).sign(head);
    expect(new HeadSigner({ current: seed }).verify(signed)).toBe(true);
    const other = new HeadSigner({ current: randomBytes(32) });
    expect(other.keyId).not.toBe(signed.key_id);
    expect(other.verify(signed)).toBe(false);
    // After a change of master secret, heads signed with the previous key still verify until re-signed.
    expect(new HeadSigner({ current: randomBytes(32), previous: seed }).verify(signed)).toBe(true);
  });
});
