import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const ENCRYPTION_KEY_FILE = 'encryption.key';

export interface MasterSecret {
  secret: string;
  /** Where it came from: the environment, or the file in the data dir. */
  source: 'env' | 'file';
  file?: string;
  /** True when this start generated the file: the operator must back it up now. */
  generated: boolean;
}

export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

/**
 * The secret the key-encryption key is derived from: WARBLER_ENCRYPTION_KEY,
 * else data/encryption.key. A new file is generated only while the database
 * holds no encrypted data; once it does, a missing key stops the start rather
 * than sealing new rows under a key that cannot open the old ones.
 */
export async function loadMasterSecret(configured: string | undefined, dataDir: string, hasEncryptedData: boolean): Promise<MasterSecret> {
  if (configured) return { secret: configured, source: 'env', generated: false };
  const file = path.join(dataDir, ENCRYPTION_KEY_FILE);
  const onDisk = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (onDisk) return { secret: onDisk, source: 'file', file, generated: false };
  if (hasEncryptedData) {
    throw new EncryptionKeyError(
      `This database holds encrypted data, but no encryption key was given: set WARBLER_ENCRYPTION_KEY, or restore ${file} from your backup. ` +
        'Without the key that sealed it, no message, file or document can be read, so Warbler will not start.',
    );
  }
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, source: 'file', file, generated: true };
}
