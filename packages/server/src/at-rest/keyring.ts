// Envelope encryption: each app has data keys (random, 256-bit, numbered
// versions), stored only sealed by the key-encryption key (KEK), which is
// derived from the master secret and never stored. Rows are sealed with the
// app's current data key; every version stays readable, so a rotation can
// re-seal old rows in the background while traffic goes on.
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { EnvelopeError, envelopeVersion, openBytes, openText, sealBytes, sealText } from './envelope.ts';
import { DecryptingStream, EncryptingStream } from './file-stream.ts';
import { EncryptionKeyError } from './master-secret.ts';

import type { SealedField } from '../store/index.ts';

export type { SealedField };

/** How long a node trusts its copy of an app's key list before reading it again (another node may have rotated). */
const KEYS_FRESH_MS = 30_000;

interface AppKeys {
  current: number;
  keys: Map<number, Buffer>;
  loadedAt: number;
}

interface DataKeyRow {
  app_id: string;
  version: number;
  sealed_key: string;
  kek_id: string;
  created_at: number | string;
}

export interface Kek {
  key: Buffer;
  /** A fingerprint of the KEK (not the key), kept with each sealed data key to tell "wrong key" from "tampered". */
  id: string;
}

export function deriveKek(secret: string): Kek {
  const ikm = Buffer.from(secret, 'utf8');
  const key = Buffer.from(hkdfSync('sha256', ikm, 'warbler/at-rest/v1', 'key-encryption-key', 32));
  const id = Buffer.from(hkdfSync('sha256', ikm, 'warbler/at-rest/v1', 'key-encryption-key id', 8)).toString('base64url');
  return { key, id };
}

/** A 32-byte key for another purpose than sealing data keys (the audit head's signature), from the same master secret. */
export function deriveSecret(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'warbler/at-rest/v1', `purpose:${purpose}`, 32));
}

/** Whether this database holds any sealed data key, i.e. encrypted data that only the right key opens. */
export async function hasDataKeys(db: Kysely<any>): Promise<boolean> {
  return (await db.selectFrom('data_keys').select('app_id').limit(1).executeTakeFirst()) !== undefined;
}

export class Keyring {
  private readonly apps = new Map<string, AppKeys>();
  private readonly loading = new Map<string, Promise<AppKeys>>();

  /**
   * `previous`: the KEK of the master secret being replaced
   * (WARBLER_ENCRYPTION_KEY_PREVIOUS). Data keys sealed under it still open,
   * so a node reads them while rewrap() (or another node) re-seals them.
   */
  constructor(
    private readonly db: Kysely<any>,
    private readonly kek: Kek,
    private readonly previous?: Kek,
  ) {}

  get kekId(): string {
    return this.kek.id;
  }

  /**
   * Start-up check: every sealed data key is under this KEK (or the previous
   * one, which rewrap() then replaces) and the oldest opens; otherwise
   * Warbler must not start.
   */
  async verify(): Promise<void> {
    const kekIds = (await this.db.selectFrom('data_keys').select('kek_id').distinct().execute()).map((r) => r.kek_id as string);
    const unknown = kekIds.filter((id) => id !== this.kek.id && id !== this.previous?.id);
    if (unknown.length > 0) {
      const given = this.previous ? `key ids ${this.kek.id} and ${this.previous.id} (previous)` : `key id ${this.kek.id}`;
      throw new EncryptionKeyError(
        `The encryption key given (${given}) is not the one this database was encrypted with (key id ${unknown.join(', ')}). ` +
          'Start with the WARBLER_ENCRYPTION_KEY (or data/encryption.key) this data was sealed under; Warbler will not start with another, ' +
          'as it could read nothing and would seal new data under a key that does not match the old. ' +
          'To change the key, set the new one as WARBLER_ENCRYPTION_KEY and the old one as WARBLER_ENCRYPTION_KEY_PREVIOUS.',
      );
    }
    const row = (await this.db.selectFrom('data_keys').selectAll().orderBy('created_at').limit(1).executeTakeFirst()) as DataKeyRow | undefined;
    if (!row) return;
    try {
      this.unseal(row);
    } catch {
      throw new EncryptionKeyError(`The sealed data key of app ${row.app_id} (version ${row.version}) does not open with this encryption key: it was altered.`);
    }
  }

  /**
   * Changing the master secret: every data key still sealed under the
   * previous KEK is opened and sealed again under the current one, in one
   * transaction (all or none), each row only if it is still under the
   * previous KEK (another node may be doing the same). Rows and files are
   * untouched: they are sealed by the data keys, which do not change.
   */
  async rewrap(): Promise<number> {
    const previous = this.previous;
    if (!previous) return 0;
    return this.db.transaction().execute(async (trx) => {
      const rows = (await trx.selectFrom('data_keys').selectAll().where('kek_id', '=', previous.id).execute()) as DataKeyRow[];
      let rewrapped = 0;
      for (const row of rows) {
        let key: Buffer;
        try {
          key = openBytes(previous.key, Buffer.from(row.sealed_key, 'base64url'), keyContext(row.app_id, Number(row.version)));
        } catch {
          throw new EncryptionKeyError(
            `The sealed data key of app ${row.app_id} (version ${row.version}) does not open with WARBLER_ENCRYPTION_KEY_PREVIOUS (key id ${previous.id}): it was altered. Nothing was re-sealed.`,
          );
        }
        const sealed = sealBytes(this.kek.key, key, keyContext(row.app_id, Number(row.version))).toString('base64url');
        const result = await trx
          .updateTable('data_keys')
          .set({ sealed_key: sealed, kek_id: this.kek.id })
          .where('app_id', '=', row.app_id)
          .where('version', '=', row.version)
          .where('kek_id', '=', previous.id)
          .executeTakeFirst();
        rewrapped += Number(result.numUpdatedRows);
      }
      return rewrapped;
    });
  }

  /** The app's data key versions with when each was made (the console's key list). */
  async list(appId: string): Promise<Array<{ app_id: string; version: number; created_at: number; kek_id: string }>> {
    const rows = (await this.db.selectFrom('data_keys').select(['app_id', 'version', 'created_at', 'kek_id']).where('app_id', '=', appId).orderBy('version').execute()) as DataKeyRow[];
    return rows.map((r) => ({ app_id: r.app_id, version: Number(r.version), created_at: Number(r.created_at), kek_id: r.kek_id }));
  }

  /**
   * Resolves once the app's keys are in memory: its current one when it is
   * about to seal (created on the app's first write), and every version these
   * stored values name when it is about to open them.
   */
  ready(appId: string, use: { seal?: boolean; versions?: Iterable<number> }): Promise<void> | void {
    const app = this.apps.get(appId);
    if (!app || (use.seal && app.current === 0)) return this.load(appId, use.seal === true).then(() => undefined);
    if (Date.now() - app.loadedAt > KEYS_FRESH_MS) void this.load(appId, false).catch(() => {});
    for (const v of use.versions ?? []) if (!app.keys.has(v)) return this.load(appId, false).then(() => undefined);
  }

  /** The app's current version and key; ready() must have resolved. */
  current(appId: string): { version: number; key: Buffer } {
    const app = this.apps.get(appId);
    if (!app || app.current === 0) throw new Error(`Data keys of app ${appId} are not loaded: call ready() first (refusing to write plaintext).`);
    return { version: app.current, key: app.keys.get(app.current)! };
  }

  key(appId: string, version: number): Buffer | undefined {
    return this.apps.get(appId)?.keys.get(version);
  }

  versions(appId: string): number[] {
    return [...(this.apps.get(appId)?.keys.keys() ?? [])].sort((a, b) => a - b);
  }

  /** A new current data key for the app; rows sealed with older ones stay readable until re-sealed. */
  async addVersion(appId: string): Promise<number> {
    const app = await this.load(appId, true);
    await this.insert(appId, app.current + 1);
    return (await this.load(appId, false)).current;
  }

  seal(appId: string, field: SealedField, rowId: string, plaintext: string): string {
    const { version, key } = this.current(appId);
    return sealText(key, version, plaintext, context(field, appId, rowId));
  }

  /** Plaintext (a row from before encryption) is returned as is; a sealed value opens or throws. */
  open(appId: string, field: SealedField, rowId: string, stored: string): string {
    const version = envelopeVersion(stored);
    if (version === undefined) return stored;
    const key = this.key(appId, version);
    if (!key) throw new EnvelopeError(`data key version ${version} of app ${appId} is unknown`);
    return openText(key, stored, context(field, appId, rowId));
  }

  encryptFile(appId: string, fileId: string): EncryptingStream {
    const { version, key } = this.current(appId);
    return new EncryptingStream(key, version, fileContext(appId, fileId));
  }

  decryptFile(appId: string, fileId: string): DecryptingStream {
    return new DecryptingStream((v) => this.key(appId, v), fileContext(appId, fileId));
  }

  private async load(appId: string, create: boolean): Promise<AppKeys> {
    let loading = this.loading.get(appId);
    if (!loading) {
      loading = this.read(appId).finally(() => this.loading.delete(appId));
      this.loading.set(appId, loading);
    }
    const app = await loading;
    if (app.current > 0 || !create) return app;
    await this.insert(appId, 1);
    return this.load(appId, false);
  }

  private async read(appId: string): Promise<AppKeys> {
    const rows = await this.rows(appId);
    const keys = new Map<number, Buffer>();
    for (const row of rows) keys.set(Number(row.version), this.unseal(row));
    const app: AppKeys = { current: Math.max(0, ...keys.keys()), keys, loadedAt: Date.now() };
    this.apps.set(appId, app);
    return app;
  }

  private rows(appId: string): Promise<DataKeyRow[]> {
    return this.db.selectFrom('data_keys').selectAll().where('app_id', '=', appId).orderBy('version').execute() as Promise<DataKeyRow[]>;
  }

  // Two nodes may create the same version at once: the first row wins and both read it back.
  private async insert(appId: string, version: number): Promise<void> {
    const sealed = sealBytes(this.kek.key, randomBytes(32), keyContext(appId, version)).toString('base64url');
    await this.db
      .insertInto('data_keys')
      .values({ app_id: appId, version, sealed_key: sealed, kek_id: this.kek.id, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['app_id', 'version']).doNothing())
      .execute();
  }

  private unseal(row: DataKeyRow): Buffer {
    const kek = this.previous && row.kek_id === this.previous.id ? this.previous : this.kek;
    return openBytes(kek.key, Buffer.from(row.sealed_key, 'base64url'), keyContext(row.app_id, Number(row.version)));
  }
}

function context(field: SealedField, appId: string, rowId: string): string {
  return `${field}\u0000${appId}\u0000${rowId}`;
}

function fileContext(appId: string, fileId: string): string {
  return `files\u0000${appId}\u0000${fileId}`;
}

function keyContext(appId: string, version: number): string {
  return `data-key\u0000${appId}\u0000${version}`;
}
