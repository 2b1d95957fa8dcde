import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * The data dir holds the database, the master key, the default app's secret
 * and every upload: owner only, 0700 folders and 0600 files. Creates it so,
 * and at each start fixes what an older install left 0755/0644: the folder,
 * every file in it, and the folders in those folders (one per app under
 * files/ and gateway-files/). Files deeper down keep their mode, but nobody
 * else can reach them any more. Returns what could not be fixed (a volume
 * owned by another user, say), for a warning rather than a refusal to start.
 */
export async function lockDataDir(dataDir: string): Promise<string[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const failed: string[] = [];
  await restrict(dataDir, 0o700, failed);
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    const child = path.join(dataDir, entry.name);
    if (entry.isFile()) await restrict(child, 0o600, failed);
    if (!entry.isDirectory()) continue;
    await restrict(child, 0o700, failed);
    const inner = await readdir(child, { withFileTypes: true }).catch(() => []);
    for (const sub of inner) if (sub.isDirectory()) await restrict(path.join(child, sub.name), 0o700, failed);
  }
  return failed;
}

async function restrict(file: string, mode: number, failed: string[]): Promise<void> {
  try {
    await chmod(file, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(file);
  }
}
