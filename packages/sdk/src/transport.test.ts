import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Drop } from './backoff.ts';
import { Connection, restUrl, socketProtocols, socketUrl } from './transport.ts';

describe('urls', () => {
  it('derives the socket and REST URLs from any base URL', () => {
    expect(socketUrl('http://h:8080')).toBe('ws://h:8080/ws');
    expect(socketProtocols('eyJ.a-b_c')).toEqual(['warbler', 'warbler.token.eyJ.a-b_c']);
    expect(socketUrl('https://h/prefix/?token=old')).toBe('wss://h/prefix/ws');
    expect(restUrl('wss://h/prefix', '/api/x')).toBe('https://h/prefix/api/x');
    expect(restUrl('ws://h:1', '/api/x')).toBe('http://h:1/api/x');
  });
});

let server: WebSocketServer | undefined;
afterEach(async () => {
  for (const ws of server?.clients ?? []) ws.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A bare ws server whose behaviour each test scripts. */
async function serve(onSocket: (ws: WebSocket) => void, verify?: (done: (ok: boolean, status?: number) => void) => void): Promise<string> {
  server = new WebSocketServer({
    host: '127.0.0.1', port: 0,
    ...(verify && { verifyClient: (_info: unknown, done: (ok: boolean, status?: number) => void) => verify(done) }),
  });
  server.on('connection', onSocket);
  await new Promise<void>((resolve) => server?.once('listening', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

function connect(url: string, connectTimeoutMs = 2_000) {
  const frames: unknown[] = [];
  let closed: Drop | undefined;
  const conn = new Connection(WebSocket, url, [], { connectTimeoutMs, onFrame: (f) => frames.push(f), onClose: (d) => (closed = d) });
  return { conn, frames, closed: () => closed };
}

const ready = (heartbeat_ms = 25_000) => JSON.stringify({ type: 'ready', user_id: 'u', app_id: 'a', heartbeat_ms, ts: 1 });

describe('Connection', () => {
  it('matches replies to requests and hands everything else on', async () => {
    const url = await serve((ws) => {
      ws.send(ready());
      ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        ws.send(JSON.stringify({ type: 'typing', conversation_id: 'c', user_id: 'v', ts: 2 }));
        if (f.type === 'history') ws.send(JSON.stringify({ type: 'result', id: f.id, data: { messages: [], has_more: false } }));
        else ws.send(JSON.stringify({ type: 'error', id: f.id, code: 'not_member', message: 'no' }));
      });
    });
    const { conn, frames } = connect(url);
    expect((await conn.ready).user_id).toBe('u');
    expect(await conn.request({ type: 'history', conversation_id: 'c' })).toMatchObject({ type: 'result', data: { has_more: false } });
    await expect(conn.request({ type: 'edit', message_id: 'm', content: {} })).rejects.toMatchObject({ code: 'not_member' });
    expect(frames).toHaveLength(2);
    conn.close();
  });

  it('rejects what is pending with `disconnected` when the socket drops', async () => {
    const url = await serve((ws) => {
      ws.send(ready());
      ws.on('message', () => ws.terminate());
    });
    const t = connect(url);
    await t.conn.ready;
    await expect(t.conn.request({ type: 'history', conversation_id: 'c' })).rejects.toMatchObject({ code: 'disconnected' });
    expect(t.closed()).toMatchObject({ code: 1006, beforeReady: false });
  });

  it('tells a 401 handshake apart from other failures', async () => {
    let status = 401;
    const url = await serve(() => {}, (done) => done(false, status));
    const refused = connect(url);
    await expect(refused.conn.ready).rejects.toMatchObject({ code: 'disconnected' });
    expect(refused.closed()).toMatchObject({ beforeReady: true, unauthorized: true });
    status = 503;
    const down = connect(url);
    await expect(down.conn.ready).rejects.toThrow();
    expect(down.closed()).toMatchObject({ beforeReady: true, unauthorized: false });
  });

  it('gives up on a server that never says ready', async () => {
    const url = await serve(() => {});
    const t = connect(url, 80);
    await expect(t.conn.ready).rejects.toThrow();
    expect(t.closed()).toMatchObject({ cause: 'connect_timeout', beforeReady: true });
  });

  it('counts the server\'s WebSocket pings as signs of life', async () => {
    const url = await serve((ws) => {
      ws.send(ready(40));
      const timer = setInterval(() => ws.ping(), 20);
      ws.on('close', () => clearInterval(timer));
      // Never answers the client's own ping frames: only protocol pings keep it alive.
    });
    const t = connect(url);
    await t.conn.ready;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(t.closed()).toBeUndefined();
    t.conn.close();
  });

  it('passes the bye frame\'s wait on with the close', async () => {
    const url = await serve((ws) => {
      ws.send(ready());
      ws.send(JSON.stringify({ type: 'bye', code: 1012, reason: 'restart', retry_after_ms: 700 }));
      ws.close(1012, 'restart');
    });
    const t = connect(url);
    await t.conn.ready;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(t.closed()).toMatchObject({ code: 1012, retryAfterMs: 700 });
  });
});
