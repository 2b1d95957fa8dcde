// Found by the fuzz suite (test/fuzz/ws.fuzz.test.ts): a frame over the 1 MiB
// the socket reads at all was closed with a bare 1009 and no reason, unlike
// every other breach of the protocol (4009 with a reason the client can show).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('a frame over the socket limit on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(async () => server?.stop());

  it('closes the socket with 4009 and a reason, and the same user gets a new socket', async () => {
    const alice = await server.user('Alice');
    const socket = await TestSocket.open(server.wsUrl, alice.token);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.ws.send(JSON.stringify({ type: 'ping', id: 'big', pad: 'x'.repeat(1_100_000) }));
    expect(await closed).toEqual({ code: 4009, reason: expect.stringMatching(/frame too large: at most 65536 bytes/) });

    const again = await TestSocket.open(server.wsUrl, alice.token);
    again.send({ type: 'ping', id: 'after' });
    expect(await again.next((f) => f.type === 'pong')).toMatchObject({ id: 'after' });
    await again.close();
    expect(socket.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
