// Provider API keys entered through the admin API are kept encrypted at rest,
// so a copy of the database (a backup, a dump attached to a ticket) does not
// hand out the keys. AES-256-GCM under a key derived from the master key with
// HKDF-SHA256: the master key is already high-entropy (generated, or at least
// 16 characters), so a slow password KDF would only slow down every start.
//
// Sealed format (one ASCII string, safe in any text column):
//   wsb1.<key id>.<base64url(iv ‖ ciphertext ‖ tag)>
// - "wsb1" names the format, so it can change without guessing at old rows.
// - The key id is derived from the master key (never the key itself), so a
//   value sealed under another master key is reported as that, not as
//   tampering, and a box built with previous master keys can still open it.
// - The header and the caller's context (e.g. app id and provider id) are the
//   GCM additional data: a sealed value moved to another row, or a header
//   edited, fails to open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'wsb1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 6;
const SALT = 'warbler/secret-box/v1';

export type SecretBoxFailure = 'malformed' | 'unsupported_version' | 'unknown_key' | 'tampered';

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
  constructor(
    readonly reason: SecretBoxFailure,
    message: string,
  ) {
    super(message);
  }
}

interface DerivedKey {
  id: string;
  key: Buffer;
}

function derive(master: string | Uint8Array, purpose: string): DerivedKey {
  const ikm = typeof master === 'string' ? Buffer.from(master, 'utf8') : Buffer.from(master);
  if (ikm.length < 16) throw new RangeError('the master key must be at least 16 bytes');
  const key = Buffer.from(hkdfSync('sha256', ikm, SALT, `encrypt ${purpose}`, 32));
  const id = Buffer.from(hkdfSync('sha256', ikm, SALT, `key id ${purpose}`, KEY_ID_BYTES)).toString('base64url');
  return { id, key };
}

export interface SecretBoxOptions {
  /** Master keys this box can still open with (after a rotation); it always seals with the current one. */
  previous?: ReadonlyArray<string | Uint8Array>;
  /** Separates uses, so a sealed provider key is never a valid sealed something-else. Default "provider-keys". */
  purpose?: string;
}

export class SecretBox {
  private readonly current: DerivedKey;
  private readonly keys = new Map<string, Buffer>();

  constructor(masterKey: string | Uint8Array, options: SecretBoxOptions = {}) {
    const purpose = options.purpose ?? 'provider-keys';
    this.current = derive(masterKey, purpose);
    this.keys.set(this.current.id, this.current.key);
    for (const old of options.previous ?? []) {
      const d = derive(old, purpose);
      if (!this.keys.has(d.id)) this.keys.set(d.id, d.key);
    }
  }

  /** The id of the current key, as it appears in sealed values (for diagnostics; not secret). */
  get keyId(): string {
    return this.current.id;
  }

  /** Encrypts `plaintext`; `context` (e.g. "app_1/provider_deepseek") must be given again to open it. */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const header = `${VERSION}.${this.current.id}`;
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header, context));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${header}.${body.toString('base64url')}`;
  }

  /** Decrypts a sealed value; throws SecretBoxError saying why it cannot. */
  open(sealed: string, context = ''): string {
    const parts = sealed.split('.');
    if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2]) {
      throw new SecretBoxError('malformed', 'This is not a sealed secret (expected wsb1.<key id>.<data>).');
    }
    const [version, keyId, data] = parts as [string, string, string];
    if (version !== VERSION) throw new SecretBoxError('unsupported_version', `Sealed secrets of format "${version}" are not supported by this version of Warbler.`);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretBoxError(
        'unknown_key',
        `This secret was sealed under a different master key (key id ${keyId}; the current one is ${this.current.id}). Start with the master key it was sealed under, or enter the provider key again.`,
      );
    }
    const body = Buffer.from(data, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES || body.toString('base64url') !== data) {
      throw new SecretBoxError('malformed', 'The sealed secret is truncated or not valid base64url.');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(`${version}.${keyId}`, context));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('tampered', 'The sealed secret failed its integrity check: it was altered, or it belongs to another record.');
    }
  }

  /** Whether a sealed value uses the current master key (false: reseal it after a rotation). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${VERSION}.${this.current.id}.`);
  }

  /** Opens with whichever key sealed it and seals again under the current one. */
  reseal(sealed: string, context = ''): string {
    return this.seal(this.open(sealed, context), context);
  }
}

// Length-prefixed so (header, context) pairs can never collide by concatenation.
function aad(header: string, context: string): Buffer {
  const h = Buffer.from(header, 'utf8');
  const c = Buffer.from(context, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  return Buffer.concat([len, h, c]);
}

/** The last few characters of a key, for showing which key is configured without showing it. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '••••' : `••••${secret.slice(-4)}`;
}
