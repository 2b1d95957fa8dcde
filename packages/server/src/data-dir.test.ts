import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir.ts';

const mode = async (p: string) => (await stat(p)).mode & 0o777;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'warbler-datadir-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the data dir', () => {
  it('is created owner-only', async () => {
    const dir = path.join(root, 'new', 'data');
    expect(await lockDataDir(dir)).toEqual([]);
    expect(await mode(dir)).toBe(0o700);
  });

  it('is fixed at start when an older install left it world-readable', async () => {
    const dir = path.join(root, 'old');
    await mkdir(path.join(dir, 'files', 'default'), { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'warbler.db'), '', { mode: 0o644 });
    await writeFile(path.join(dir, 'master.key'), 'k', { mode: 0o644 });
    await writeFile(path.join(dir, 'files', 'default', 'fil_1'), 'x', { mode: 0o644 });
    await chmod(path.join(dir, 'files'), 0o755);
    await chmod(path.join(dir, 'files', 'default'), 0o755);

    expect(await lockDataDir(dir)).toEqual([]);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, 'warbler.db'))).toBe(0o600);
    expect(await mode(path.join(dir, 'master.key'))).toBe(0o600);
    expect(await mode(path.join(dir, 'files'))).toBe(0o700);
    expect(await mode(path.join(dir, 'files', 'default'))).toBe(0o700);
  });
});
