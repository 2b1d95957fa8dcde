// Encryption at rest: message content, knowledge text and uploaded files are
// sealed with per-app data keys (envelope encryption, decision 0019).
import { hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import { plainFileSealing, type FileSealing } from '../files/index.ts';
import type { RowSealer } from '../store/index.ts';
import { envelopeVersion } from './envelope.ts';
import { fileVersionOnDisk } from './file-stream.ts';
import { deriveKek, deriveSecret, hasDataKeys, Keyring } from './keyring.ts';
import { EncryptionKeyError, loadMasterSecret } from './master-secret.ts';
import { Resealer, type RotationStatus } from './rotation.ts';

export { EncryptionKeyError } from './master-secret.ts';
export type { RotationStatus } from './rotation.ts';

export interface AtRestOptions {
  db: Kysely<any>;
  dataDir: string;
  filesDir: string;
  /** The /v1 Files API's folder (batch inputs, outputs, errors); default: gateway-files beside filesDir. */
  gatewayFilesDir?: string;
  /** WARBLER_ENCRYPTION_KEY; unset: data/encryption.key, generated on the first start. */
  key: string | undefined;
  /** WARBLER_ENCRYPTION_KEY_PREVIOUS: the master secret being replaced; data keys sealed under it are re-sealed under `key` at start. */
  previousKey?: string | undefined;
  /** WARBLER_ENCRYPTION=off: store plaintext (refused once encrypted data exists). */
  enabled: boolean;
  warn(message: string): void;
  onError(err: unknown): void;
}

export interface AtRest {
  readonly enabled: boolean;
  /** Where the master secret came from. */
  readonly keySource: 'env' | 'file' | 'off';
  /** Fingerprint of the key-encryption key (not secret): tells two installs' keys apart. */
  readonly keyId: string | null;
  /** Data keys re-sealed under a new master secret at this start (WARBLER_ENCRYPTION_KEY_PREVIOUS). */
  readonly rewrapped: number;
  /** A 32-byte secret for `purpose`, derived from the master secret (the audit head's signing key); undefined when off. */
  derive(purpose: string): { current: Buffer; previous?: Buffer } | undefined;
  readonly rows: RowSealer;
  readonly files: FileSealing;
  /**
   * The app's search index key (decision 0026): HKDF of the app's first data
   * key, so it stays the same across data-key rotations and master-secret
   * changes, and is as secret as the data keys.
   */
  indexKey(appId: string): Promise<Buffer>;
  /** Seals plaintext rows of apps that have never been through it (databases from before encryption). */
  adopt(appIds: readonly string[]): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  rotate(appId: string): Promise<RotationStatus>;
  status(appId: string): Promise<RotationStatus>;
  settled(timeoutMs?: number): Promise<void>;
}

/** Opens the keys, or stops the start with an EncryptionKeyError saying what to do. */
export async function openAtRest(options: AtRestOptions): Promise<AtRest> {
  const encrypted = await hasDataKeys(options.db);
  if (!options.enabled) {
    if (encrypted) {
      throw new EncryptionKeyError(
        'WARBLER_ENCRYPTION=off, but this database holds encrypted data: Warbler would read none of it and write new data in plaintext beside it. ' +
          'Remove WARBLER_ENCRYPTION=off and give the key (WARBLER_ENCRYPTION_KEY or data/encryption.key).',
      );
    }
    options.warn('Encryption at rest is OFF (WARBLER_ENCRYPTION=off): messages, files and knowledge are stored in plaintext.');
    return plaintextAtRest();
  }
  const secret = await loadMasterSecret(options.key, options.dataDir, encrypted);
  if (options.previousKey !== undefined && options.previousKey === secret.secret) {
    throw new EncryptionKeyError('WARBLER_ENCRYPTION_KEY_PREVIOUS is the same as the current encryption key: set it to the key being replaced, or unset it.');
  }
  const previous = options.previousKey ? deriveKek(options.previousKey) : undefined;
  const keyring = new Keyring(options.db, deriveKek(secret.secret), previous);
  await keyring.verify();
  // Changing the master secret: the data keys are re-sealed under the new one before anything else reads them.
  const rewrapped = await keyring.rewrap();
  if (previous) {
    options.warn(
      rewrapped > 0
        ? `Re-sealed ${rewrapped} data key(s) under the new encryption key (key id ${keyring.kekId}); the previous key (key id ${previous.id}) opens nothing now. ` +
          'Remove WARBLER_ENCRYPTION_KEY_PREVIOUS once every node runs with the new key, and back the new key up.'
        : `WARBLER_ENCRYPTION_KEY_PREVIOUS (key id ${previous.id}) opens nothing in this database any more: every data key is under key id ${keyring.kekId}. Remove it.`,
    );
  }
  if (secret.generated) {
    options.warn(
      `Generated the encryption key ${secret.file}. BACK IT UP NOW, apart from the database backups: without it no message, file or ` +
        'knowledge document can ever be read again. For several nodes, or to keep the key off the data volume, set WARBLER_ENCRYPTION_KEY instead.',
    );
  }
  const indexKeys = new Map<string, Buffer>();
  const resealer = new Resealer(options.db, keyring, options.filesDir, options.onError, 0, options.gatewayFilesDir);
  return {
    enabled: true,
    keySource: secret.source,
    keyId: keyring.kekId,
    rewrapped,
    derive: (purpose) => ({
      current: deriveSecret(secret.secret, purpose),
      ...(options.previousKey ? { previous: deriveSecret(options.previousKey, purpose) } : {}),
    }),
    rows: {
      ready: (appId, use) => keyring.ready(appId, { seal: use.seal, versions: versionsOf(use.stored) }),
      seal: (appId, field, rowId, plaintext) => keyring.seal(appId, field, rowId, plaintext),
      open: (appId, field, rowId, stored) => keyring.open(appId, field, rowId, stored),
    },
    files: {
      async seal(appId, fileId) {
        await keyring.ready(appId, { seal: true });
        const stream = keyring.encryptFile(appId, fileId);
        return { stream, bytes: () => stream.plaintextBytes };
      },
      async open(appId, fileId, file) {
        // The header names the version, which may be newer than this node has seen (another node rotated).
        const version = await fileVersionOnDisk(file).catch(() => undefined);
        await keyring.ready(appId, { versions: version === undefined ? [] : [version] });
        return keyring.decryptFile(appId, fileId);
      },
    },
    async indexKey(appId) {
      let key = indexKeys.get(appId);
      if (!key) {
        await keyring.ready(appId, { seal: true, versions: [1] });
        const first = keyring.key(appId, 1);
        if (!first) throw new Error(`Data key version 1 of app ${appId} is missing: the search index key is derived from it.`);
        key = Buffer.from(hkdfSync('sha256', first, 'warbler/search/v1', `message-terms\u0000${appId}`, 32));
        indexKeys.set(appId, key);
      }
      return key;
    },
    adopt: (appIds) => resealer.adopt(appIds),
    start: () => resealer.start(),
    stop: () => resealer.stop(),
    rotate: (appId) => resealer.rotate(appId),
    status: (appId) => resealer.status(appId),
    settled: (timeoutMs) => resealer.settled(timeoutMs),
  };
}

function versionsOf(stored: readonly string[] | undefined): number[] {
  const versions = new Set<number>();
  for (const value of stored ?? []) {
    const v = envelopeVersion(value);
    if (v !== undefined) versions.add(v);
  }
  return [...versions];
}

function plaintextAtRest(): AtRest {
  const refuse = async (): Promise<never> => {
    throw new EncryptionKeyError('Encryption at rest is off (WARBLER_ENCRYPTION=off): there are no keys to rotate.');
  };
  return {
    enabled: false, keySource: 'off', keyId: null, rewrapped: 0, derive: () => undefined,
    rows: { ready: () => {}, seal: (_a, _f, _r, plaintext) => plaintext, open: (_a, _f, _r, stored) => stored },
    files: plainFileSealing,
    // Nothing is secret with encryption off (the messages themselves are plaintext): a fixed key per app.
    indexKey: async (appId) => Buffer.from(hkdfSync('sha256', Buffer.from('warbler/search/plaintext'), 'warbler/search/v1', `message-terms\u0000${appId}`, 32)),
    adopt: async () => {},
    start: () => {},
    stop: async () => {},
    rotate: refuse,
    status: refuse,
    settled: async () => {},
  };
}
