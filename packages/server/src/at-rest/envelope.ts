// Sealed values in database text columns (message content, knowledge text).
//
//   wae1.<key version>.<base64url(nonce ‖ ciphertext ‖ tag)>
//
// - "wae1" names the format; a value without it is plaintext from before
//   encryption (read as is, and sealed by the background job).
// - The key version says which of the app's data keys sealed it, so rows of
//   two versions can be read side by side while a rotation runs.
// - The header and the row's context (table.column, app id, row id) are the
//   GCM additional data: a value copied into another row, another app, or a
//   header edited to another version fails to open instead of decrypting.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const ENVELOPE_PREFIX = 'wae1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

// randomBytes costs ~15 µs a call (as much as the whole seal): nonces are cut from a pool refilled 4 KiB at a time.
// Each pool is a new buffer and every nonce is used once, so nonces stay as random as single draws.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

function freshNonce(): Buffer {
  if (poolAt + NONCE_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  return pool.subarray(poolAt, (poolAt += NONCE_BYTES));
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** The key version a stored value was sealed with; undefined for plaintext (not an envelope). */
export function envelopeVersion(stored: string): number | undefined {
  if (!stored.startsWith(ENVELOPE_PREFIX)) return undefined;
  const end = stored.indexOf('.', ENVELOPE_PREFIX.length);
  const version = Number(stored.slice(ENVELOPE_PREFIX.length, end));
  return end > 0 && Number.isSafeInteger(version) && version > 0 ? version : undefined;
}

export function sealText(key: Buffer, version: number, plaintext: string, context: string): string {
  const nonce = freshNonce();
  const header = `${ENVELOPE_PREFIX}${version}`;
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(header, context));
  const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${header}.${body.toString('base64url')}`;
}

/** Opens a value sealText made under `key` with the same context; throws EnvelopeError when it was altered or moved. */
export function openText(key: Buffer, stored: string, context: string): string {
  const dot = stored.indexOf('.', ENVELOPE_PREFIX.length);
  if (!stored.startsWith(ENVELOPE_PREFIX) || dot < 0) throw new EnvelopeError('not a sealed value');
  const body = Buffer.from(stored.slice(dot + 1), 'base64url');
  if (body.length < NONCE_BYTES + TAG_BYTES) throw new EnvelopeError('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(stored.slice(0, dot), context));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new EnvelopeError('sealed value failed its integrity check: altered, or moved from another row');
  }
}

/** Seals raw bytes (a data key under the key-encryption key): nonce ‖ ciphertext ‖ tag. */
export function sealBytes(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function openBytes(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new EnvelopeError('sealed key is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new EnvelopeError('sealed key failed its integrity check');
  }
}

// Length-prefixed so a (header, context) pair can never equal another by concatenation.
function additionalData(header: string, context: string): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  return Buffer.concat([len, h, Buffer.from(context, 'utf8')]);
}
