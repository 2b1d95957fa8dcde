import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresAdminUrl } from '../../test/postgres.ts';
import { isStoreUnavailable, storeUnavailable } from './unavailable.ts';

/** Runs `fn` and returns what it threw: every case below is a real failure, not a hand-made error object. */
async function thrownBy(fn: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('isStoreUnavailable', () => {
  it('is true when PostgreSQL refuses the connection (down or restarting)', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await closedPort(), user: 'x', database: 'x' });
    const error = await thrownBy(() => client.connect());
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isStoreUnavailable(error)).toBe(true);
  });

  it('is true when the connection dies under the client', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'x', database: 'x' });
      const error = await thrownBy(() => client.connect());
      expect(isStoreUnavailable(error)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('is true for SQLite busy, false for a constraint', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'warbler-busy-'));
    const file = path.join(dir, 'db.sqlite');
    const a = new Sqlite(file);
    const b = new Sqlite(file, { timeout: 0 });
    try {
      a.exec('create table t (id integer primary key)');
      a.exec('begin immediate');
      const busy = await thrownBy(() => b.exec('insert into t values (1)'));
      expect(isStoreUnavailable(busy)).toBe(true);
      a.exec('commit');
      b.exec('insert into t values (1)');
      const constraint = await thrownBy(() => b.exec('insert into t values (1)'));
      expect((constraint as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
      expect(isStoreUnavailable(constraint)).toBe(false);
    } finally {
      a.close();
      b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is true when SQLite runs out of room (a full disk): the client keeps the message and retries', async () => {
    const db = new Sqlite(':memory:');
    try {
      db.exec('create table t (v text)');
      db.pragma('max_page_count = 3');
      const full = await thrownBy(() => {
        for (let i = 0; i < 100; i++) db.prepare('insert into t values (?)').run('x'.repeat(1000));
      });
      expect((full as { code?: string }).code).toBe('SQLITE_FULL');
      expect(isStoreUnavailable(full)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('is false for anything that is not an error, or an ordinary one', () => {
    expect(isStoreUnavailable('ECONNREFUSED')).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
    expect(isStoreUnavailable(new TypeError('x is not a function'))).toBe(false);
  });

  it.skipIf(!postgresAdminUrl())('is true for a session the server terminated, false for a unique violation', async () => {
    const victim = new pg.Client({ connectionString: postgresAdminUrl()! });
    const admin = new pg.Client({ connectionString: postgresAdminUrl()! });
    victim.on('error', () => {});
    await victim.connect();
    await admin.connect();
    try {
      const { rows } = await victim.query<{ pid: number }>('select pg_backend_pid() as pid');
      const sleeping = thrownBy(() => victim.query('select pg_sleep(10)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      const terminated = await sleeping;
      expect(isStoreUnavailable(terminated)).toBe(true);

      await admin.query('create temp table u (id int primary key)');
      await admin.query('insert into u values (1)');
      const unique = await thrownBy(() => admin.query('insert into u values (1)'));
      expect((unique as { code?: string }).code).toBe('23505');
      expect(isStoreUnavailable(unique)).toBe(false);
    } finally {
      await victim.end().catch(() => {});
      await admin.end();
    }
  });

  it('tells the client to retry, and that a retry cannot duplicate', () => {
    const error = storeUnavailable();
    expect([error.code, error.status]).toEqual(['unavailable', 503]);
    expect(error.message).toMatch(/client_msg_id/);
  });
});
