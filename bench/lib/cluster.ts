import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findPostgresBin, startCluster } from '../../packages/server/test/postgres-global-setup.ts';
import { startRedis, type TestRedis } from '../../packages/server/test/redis.ts';
import { log } from './util.ts';

// The PostgreSQL and Redis that the multi-node systems of bench:fanout run on:
// started the way the server's tests start them (throwaway, temp dir, free
// port on 127.0.0.1; that code is reused, not copied), one PostgreSQL for the
// whole run with a fresh database per system, one Redis per system. Like the
// tests' cluster, PostgreSQL runs with fsync and synchronous_commit off.

let postgres: Promise<{ url: string; stop: () => Promise<void> }> | undefined;

function sharedPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (!postgres) {
    const bin = findPostgresBin();
    if (!bin) throw new Error('PostgreSQL is not installed (Debian: apt-get install -y postgresql): the multi-node systems need it');
    postgres = startCluster(bin).then((c) => {
      log(`postgres: started for the multi-node systems (${new URL(c.url).host})`);
      return c;
    });
  }
  return postgres;
}

/** A new empty database on the run's PostgreSQL; its URL. */
export async function freshDatabase(): Promise<string> {
  const admin = (await sharedPostgres()).url;
  const name = `warbler_bench_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A throwaway redis-server for one system; remove() stops it and deletes its dir. */
export function freshRedis(): Promise<TestRedis> {
  return startRedis();
}

/** Stops the run's PostgreSQL if one was started (the bench calls it once, at the end). */
export async function stopServices(): Promise<void> {
  if (!postgres) return;
  const p = postgres;
  postgres = undefined;
  await (await p).stop();
  log('postgres: stopped');
}
