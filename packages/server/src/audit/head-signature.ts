// The audit chain's signed head: the last entry's seq and hash, signed with
// Ed25519, so deleting the newest entries (which leaves a valid chain behind)
// shows as a head the chain no longer reaches. The signing key is derived
// from a secret kept outside the database (the encryption master secret), so
// whoever holds only a dump cannot sign a shorter head; the public key can be
// handed to an auditor, who then checks an exported head without any secret.
import { createHash, createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';

export interface ChainHead {
  app_id: string;
  seq: number;
  hash: string;
  /** When it was signed (ms). */
  at: number;
}

export interface SignedHead extends ChainHead {
  /** Which key signed it: the first 16 hex of sha256 over the raw public key. */
  key_id: string;
  /** Ed25519 over headPayload(), base64url. */
  signature: string;
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): node:crypto takes keys as DER, not raw seeds.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

interface SigningKey {
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The bytes signed: a fixed label and the head's fields, one per line (none can hold a newline). */
export function headPayload(head: ChainHead): Buffer {
  return Buffer.from(`warbler-audit-head/v1\n${head.app_id}\n${head.seq}\n${head.hash}\n${head.at}`, 'utf8');
}

function keyFromSeed(seed: Buffer): SigningKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { id: createHash('sha256').update(raw).digest('hex').slice(0, 16), privateKey, publicKey };
}

export class HeadSigner {
  private readonly current: SigningKey;
  private readonly previous: SigningKey | undefined;

  /** seeds: 32 bytes each; `previous` is the key of a master secret being replaced (heads it signed still verify until re-signed). */
  constructor(seeds: { current: Buffer; previous?: Buffer | undefined }) {
    this.current = keyFromSeed(seeds.current);
    this.previous = seeds.previous ? keyFromSeed(seeds.previous) : undefined;
  }

  get keyId(): string {
    return this.current.id;
  }

  /** The public key (PEM, SPKI): what an auditor needs to check an exported head. */
  get publicKeyPem(): string {
    return this.current.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  sign(head: ChainHead): SignedHead {
    const signature = sign(null, headPayload(head), this.current.privateKey).toString('base64url');
    return { app_id: head.app_id, seq: head.seq, hash: head.hash, at: head.at, key_id: this.current.id, signature };
  }

  /** True when one of this node's keys signed exactly this head. */
  verify(head: SignedHead): boolean {
    const key = [this.current, this.previous].find((k) => k?.id === head.key_id);
    if (!key) return false;
    try {
      return verify(null, headPayload(head), key.publicKey, Buffer.from(head.signature, 'base64url'));
    } catch {
      return false;
    }
  }
}

/** The signing seed when encryption at rest is off: derived from the operator's master key instead of the encryption secret. */
export function auditHeadSeed(masterKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), 'warbler/audit/v1', 'audit-head signing key', 32));
}
