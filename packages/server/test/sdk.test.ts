import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Message } from '@warbler/protocol';
import { WarblerClient } from '@warbler/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildWarbler, type Warbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createTestDatabase, postgresAdminUrl } from './postgres.ts';
import { storeKinds } from './harness.ts';

/** The SDK against the real server, across a full server restart. */
describe.each(storeKinds())('@warbler/sdk with a real server on %s', (kind) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function boot(dataDir: string, port: number, databaseUrl?: string): Promise<{ warbler: Warbler; url: string }> {
    const warbler = await buildWarbler(
      loadConfig({
        WARBLER_PORT: String(port), WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir,
        WARBLER_MASTER_KEY: 'sdk-test-master-key-123456', WARBLER_LOG_LEVEL: 'silent',
        ...(databaseUrl ? { WARBLER_DATABASE_URL: databaseUrl } : {}),
      }),
    );
    return { warbler, url: await warbler.listen() };
  }

  it('delivers every message once and in order while the server restarts under traffic, and queued sends go out once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-sdk-'));
    const db = kind === 'postgres' && postgresAdminUrl() ? await createTestDatabase() : undefined;
    cleanups.push(async () => { await db?.drop(); await rm(dataDir, { recursive: true, force: true }); });
    let { warbler, url } = await boot(dataDir, 0, db?.url);
    const port = Number(new URL(url).port);
    const secret = await warbler.apps.rotateSecret('default');
    const api = async (p: string, body: unknown) => {
      const res = await fetch(url + p, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return res.json();
    };
    await api('/api/users', { id: 'alice', name: 'Alice' });
    await api('/api/users', { id: 'bob', name: 'Bob' });
    const conv = await api('/api/conversations', { kind: 'group', member_ids: ['alice', 'bob'], title: 'Restart drill' });
    const tokenFor = async (user: string) => (await api(`/api/users/${user}/tokens`, {})).token as string;

    const alice = new WarblerClient({ url, WebSocket: WebSocket as never, token: () => tokenFor('alice'), reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
    const bob = new WarblerClient({ url, WebSocket: WebSocket as never, token: () => tokenFor('bob'), reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
    const bobSaw: Message[] = [];
    bob.on('message', (m) => bobSaw.push(m));
    await Promise.all([alice.connect(), bob.connect()]);

    const sent: Promise<Message>[] = [];
    for (let i = 0; i < 20; i++) sent.push(alice.send(conv.id, `before ${i}`));
    await Promise.all(sent.slice(0, 5));

    // Restart the server while sends are in flight; the clients reconnect by themselves.
    await warbler.close();
    for (let i = 0; i < 10; i++) sent.push(alice.send(conv.id, `while down ${i}`));
    ({ warbler, url } = await boot(dataDir, port, db?.url));
    cleanups.push(() => warbler.close());
    for (let i = 0; i < 10; i++) sent.push(alice.send(conv.id, `after ${i}`));

    const stored = await Promise.all(sent);
    const seqs = stored.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(40);
    await expect.poll(() => bobSaw.length, { timeout: 10_000 }).toBe(40);
    expect(bobSaw.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Alice's own order is kept.
    expect(bobSaw.map((m) => (m.content as { text: string }).text)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `before ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `while down ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `after ${i}`),
    ]);
    const history = await bob.history(conv.id, { limit: 100 });
    expect(history.messages).toHaveLength(40);
    alice.close();
    bob.close();
  });

  it('a browser-like client with a revoked token stops with "unauthorized" instead of retrying the same token', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-sdk-'));
    const db = kind === 'postgres' && postgresAdminUrl() ? await createTestDatabase() : undefined;
    const { warbler, url } = await boot(dataDir, 0, db?.url);
    cleanups.push(async () => { await warbler.close(); await db?.drop(); await rm(dataDir, { recursive: true, force: true }); });
    const secret = await warbler.apps.rotateSecret('default');
    const post = async (p: string, body: unknown) =>
      (await fetch(url + p, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
    await post('/api/users', { id: 'dora', name: 'Dora' });
    const token = (await post('/api/users/dora/tokens', {})).token as string;
    await post('/api/users/dora/tokens/revoke', {});

    // What a browser's WebSocket shows: no `on`, no HTTP status, an error event without a message.
    let handshakes = 0;
    class BrowserLikeWebSocket {
      private readonly ws: WebSocket;
      onopen: ((e: unknown) => void) | null = null;
      onmessage: ((e: { data: unknown }) => void) | null = null;
      onclose: ((e: { code: number; reason: string }) => void) | null = null;
      onerror: ((e: unknown) => void) | null = null;
      constructor(address: string) {
        handshakes++;
        this.ws = new WebSocket(address);
        this.ws.on('open', () => this.onopen?.({}));
        this.ws.on('message', (data) => this.onmessage?.({ data: String(data) }));
        this.ws.on('close', (code, reason) => this.onclose?.({ code, reason: String(reason) }));
        this.ws.on('error', () => this.onerror?.({}));
      }
      get readyState() {
        return this.ws.readyState;
      }
      send(data: string) {
        this.ws.send(data);
      }
      close(code?: number, reason?: string) {
        this.ws.close(code, reason);
      }
    }

    const client = new WarblerClient({ url, WebSocket: BrowserLikeWebSocket as never, token, reconnect: { minDelayMs: 20, maxDelayMs: 50 } });
    const statuses: string[] = [];
    client.on('status', (s) => statuses.push(`${s.status}:${s.reason}`));
    await expect(client.connect()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(statuses.at(-1)).toBe('closed:unauthorized');
    // One try: a 401 on the upgrade would have looked like a network failure and been retried every 20–50 ms.
    await new Promise((r) => setTimeout(r, 300));
    expect(handshakes).toBe(1);
  });
});

