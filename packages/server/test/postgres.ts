import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL, or null when it is not installed (suites skip). */
    warblerPostgresAdminUrl: string | null;
  }
}

/** The admin URL from the global setup, or null when PostgreSQL is unavailable and its suites should skip. */
export function postgresAdminUrl(): string | null {
  return inject('warblerPostgresAdminUrl') ?? null;
}

/** A fresh, empty database on the test server; drop() removes it (even with connections still open). */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = postgresAdminUrl();
  if (!admin) throw new Error('No test PostgreSQL: guard the suite with describe.skipIf(!postgresAdminUrl())');
  const name = `warbler_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(admin, `create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropDatabase(admin, name),
  };
}

/**
 * pg's pool.end() resolves before its sockets have closed, so sessions of a
 * just-closed store can linger for a moment. Killing them (WITH (FORCE)) makes
 * those clients raise uncaught errors, so wait for them to leave first and
 * force only what is still there after that (a store the test forgot to close).
 */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (let waited = 0; waited < 5_000; waited += 50) {
      const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
