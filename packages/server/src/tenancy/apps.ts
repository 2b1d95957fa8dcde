import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashSecret, mintAppSecret } from '../auth/secrets.ts';
import { notFound } from '../errors.ts';
import { newId, newSecret } from '../ids.ts';
import type { AppRow, Store } from '../store/index.ts';

export interface AppView {
  id: string;
  name: string;
  created_at: number;
}

const view = (a: AppRow): AppView => ({ id: a.id, name: a.name, created_at: a.created_at });

export const DEFAULT_APP_ID = 'default';

/** Apps (tenants) and their secrets. Secrets are shown once and stored hashed. */
export class Apps {
  constructor(private readonly store: Store) {}

  async create(name: string, id: string = newId('app')): Promise<{ app: AppView; secret: string }> {
    const secret = mintAppSecret(id);
    const now = Date.now();
    const row: AppRow = { id, name, secret_hash: hashSecret(secret), created_at: now, updated_at: now };
    await this.store.createApp(row);
    return { app: view(row), secret };
  }

  async list(): Promise<AppView[]> {
    return (await this.store.listApps()).map(view);
  }

  async get(appId: string): Promise<AppRow> {
    const app = await this.store.getApp(appId);
    if (!app) throw notFound('The app');
    return app;
  }

  async rotateSecret(appId: string): Promise<string> {
    await this.get(appId);
    const secret = mintAppSecret(appId);
    await this.store.setAppSecret(appId, hashSecret(secret), Date.now());
    return secret;
  }

  /**
   * On the first start, creates the default app and writes its secret to a
   * file only the owner can read, so a developer can start with no setup.
   * Later starts leave it alone (and rotate it only if the file was lost).
   */
  async ensureDefault(dataDir: string): Promise<{ appId: string; secretFile: string; created: boolean }> {
    const secretFile = path.join(dataDir, 'default-app.secret');
    const existing = await this.store.getApp(DEFAULT_APP_ID);
    if (existing) {
      const onDisk = await readFile(secretFile, 'utf8').catch(() => undefined);
      if (onDisk === undefined) await writeSecret(secretFile, await this.rotateSecret(DEFAULT_APP_ID));
      return { appId: DEFAULT_APP_ID, secretFile, created: false };
    }
    const { secret } = await this.create('Default app', DEFAULT_APP_ID);
    await writeSecret(secretFile, secret);
    return { appId: DEFAULT_APP_ID, secretFile, created: true };
  }
}

async function writeSecret(file: string, secret: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** The master key from the environment, or one generated once into the data dir. */
export async function loadMasterKey(configured: string | undefined, dataDir: string): Promise<{ key: string; file?: string }> {
  if (configured) return { key: configured };
  const file = path.join(dataDir, 'master.key');
  const onDisk = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (onDisk) return { key: onDisk, file };
  const key = `wmk_${newSecret()}`;
  await writeSecret(file, key);
  return { key, file };
}
