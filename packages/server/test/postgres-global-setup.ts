import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
// ProvidedContext is augmented in ./postgres.ts.

const run = promisify(execFile);

/**
 * Gives the test run a PostgreSQL server: WARBLER_TEST_DATABASE_URL when set,
 * otherwise a throwaway cluster in a temp dir on a free 127.0.0.1 port,
 * stopped and deleted at teardown. Tests reach it through createTestDatabase().
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.WARBLER_TEST_DATABASE_URL;
  if (external) {
    project.provide('warblerPostgresAdminUrl', external);
    return undefined;
  }
  const bin = findPostgresBin();
  if (!bin) {
    const hint = 'Install it (Debian: apt-get install -y postgresql) or set WARBLER_TEST_DATABASE_URL to a server where the user may CREATE DATABASE.';
    if (process.env.CI) throw new Error(`PostgreSQL is not installed, and CI needs the Postgres suites to run. ${hint}`);
    console.warn(`\n⚠ PostgreSQL not found: skipping the Postgres test suites. ${hint}\n`);
    project.provide('warblerPostgresAdminUrl', null);
    return undefined;
  }
  const cluster = await startCluster(bin);
  project.provide('warblerPostgresAdminUrl', cluster.url);
  return cluster.stop;
}

/** Newest server under Debian's /usr/lib/postgresql/<version>/bin, else whatever initdb is on PATH. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  return (process.env.PATH ?? '')
    .split(delimiter)
    .find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** A throwaway PostgreSQL in a temp dir on a free 127.0.0.1 port; also what bench:fanout's multi-node systems store in. */
export async function startCluster(bin: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'warbler-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  // initdb refuses to run as root, so the cluster belongs to the postgres OS user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const owner = postgresOsUser();
    chownSync(dir, owner.uid, owner.gid);
  }
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p)) ?? 'runuser';
  const pgCommand = (tool: string, args: string[]) =>
    asRoot ? run(runuser, ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);
  const describeFailure = (step: string, error: unknown) => {
    const stderr = (error as { stderr?: string }).stderr || String(error);
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    return new Error(`Test PostgreSQL: ${step} failed.\n${stderr}\n${serverLog}`.trim());
  };

  try {
    await pgCommand('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--no-locale']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw describeFailure('initdb', error);
  }

  const port = await freePort();
  // Durability is pointless for a throwaway cluster; turning it off makes the suites several times faster.
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  try {
    await pgCommand('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw describeFailure('pg_ctl start', error);
  }

  let stopped = false;
  const stopArgs = ['-D', data, '-m', 'immediate', '-w', 'stop'];
  // If the run dies without teardown (Ctrl-C, crash), still take the server down.
  const onExit = () => {
    if (stopped) return;
    if (asRoot) spawnSync(runuser, ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...stopArgs]);
    else spawnSync(join(bin, 'pg_ctl'), stopArgs);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      process.off('exit', onExit);
      try {
        await pgCommand('pg_ctl', stopArgs);
      } finally {
        stopped = true;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function postgresOsUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('Running as root, but there is no "postgres" OS user to own the test cluster (the Debian postgresql package creates it).');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
