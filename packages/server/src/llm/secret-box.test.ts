import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError, maskSecret } from './secret-box.ts';

const MASTER = 'wmk_0123456789abcdefghijklmnopqrstuvwxyzABCD';
const OTHER = 'wmk_zyxwvutsrqponmlkjihgfedcba9876543210ZYXW';
const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

function failure(fn: () => unknown): SecretBoxError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SecretBoxError) return e;
    throw e;
  }
  throw new Error('expected a SecretBoxError');
}

/** Flips one bit of the decoded body at `index` (negative: from the end). */
function flip(sealed: string, index: number): string {
  const [v, kid, data] = sealed.split('.') as [string, string, string];
  const body = Buffer.from(data, 'base64url');
  const i = index < 0 ? body.length + index : index;
  body[i] = body[i]! ^ 0x01;
  return `${v}.${kid}.${body.toString('base64url')}`;
}

describe('SecretBox', () => {
  const box = new SecretBox(MASTER);

  it('round-trips, and never shows the plaintext or repeats a ciphertext', () => {
    const a = box.seal(KEY, 'app_1/deepseek');
    const b = box.seal(KEY, 'app_1/deepseek');
    expect(a).toMatch(/^wsb1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('abcdefghij');
    expect(a).not.toBe(b);
    expect(box.open(a, 'app_1/deepseek')).toBe(KEY);
    expect(new SecretBox(MASTER).open(b, 'app_1/deepseek')).toBe(KEY);
    expect(box.open(box.seal('密钥 🔑'))).toBe('密钥 🔑');
    expect(box.open(box.seal(''))).toBe('');
  });

  it('detects tampering anywhere: IV, ciphertext, tag', () => {
    const sealed = box.seal(KEY);
    for (const at of [0, 11, 12, 20, -17, -1]) expect(failure(() => box.open(flip(sealed, at))).reason).toBe('tampered');
  });

  it('refuses a sealed value moved to another record (context mismatch)', () => {
    const sealed = box.seal(KEY, 'app_1/deepseek');
    expect(failure(() => box.open(sealed, 'app_2/deepseek')).reason).toBe('tampered');
    expect(failure(() => box.open(sealed)).reason).toBe('tampered');
  });

  it('says "different master key" rather than "tampered" for a value sealed under another key', () => {
    const sealed = new SecretBox(OTHER).seal(KEY);
    const err = failure(() => box.open(sealed));
    expect(err.reason).toBe('unknown_key');
    expect(err.message).toMatch(/different master key/);
    expect(err.message).not.toContain(OTHER);
  });

  it('a forged key id still fails the integrity check', () => {
    const sealed = new SecretBox(OTHER).seal(KEY);
    const forged = sealed.replace(/^wsb1\.[^.]+\./, `wsb1.${box.keyId}.`);
    expect(failure(() => box.open(forged)).reason).toBe('tampered');
  });

  it('opens values sealed under a previous master key and reseals them under the current one', () => {
    const old = new SecretBox(OTHER).seal(KEY, 'ctx');
    const rotated = new SecretBox(MASTER, { previous: [OTHER] });
    expect(rotated.isCurrent(old)).toBe(false);
    expect(rotated.open(old, 'ctx')).toBe(KEY);
    const fresh = rotated.reseal(old, 'ctx');
    expect(rotated.isCurrent(fresh)).toBe(true);
    expect(box.open(fresh, 'ctx')).toBe(KEY);
  });

  it('keeps purposes apart', () => {
    const sealed = new SecretBox(MASTER, { purpose: 'webhook-secrets' }).seal(KEY);
    expect(failure(() => box.open(sealed)).reason).toBe('unknown_key');
  });

  it('rejects what is not a sealed value, or a format it does not know', () => {
    expect(failure(() => box.open(KEY)).reason).toBe('malformed');
    expect(failure(() => box.open(`wsb1.${box.keyId}.AAAA`)).reason).toBe('malformed');
    expect(failure(() => box.open(`wsb1.${box.keyId}.${'A'.repeat(40)}!`)).reason).toBe('malformed');
    expect(failure(() => box.open(box.seal(KEY).replace(/^wsb1/, 'wsb9'))).reason).toBe('unsupported_version');
  });

  it('wants a master key of at least 16 bytes', () => {
    expect(() => new SecretBox('short')).toThrow(/16 bytes/);
  });

  it('maskSecret shows only the last four characters', () => {
    expect(maskSecret(KEY)).toBe('••••6789');
    expect(maskSecret('abc')).toBe('••••');
  });
});
