// Issue 10, item 12: group titles, token lifetimes and slow consumers, over real sockets.
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('members, tokens and slow consumers on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, { WARBLER_WS_MAX_BUFFER: String(256 * 1024) });
  });
  afterAll(async () => server?.stop());

  it('lets only the owner or an admin rename a group', async () => {
    const owner = await server.user('Olga');
    const member = await server.user('Max');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'group', title: 'Team', member_ids: [member.id] }, owner.token)).body.id;
    const refused = await server.api('PATCH', `/api/conversations/${conv}`, { title: 'Pwned' }, member.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/owner or an admin/);
    expect((await server.api('GET', `/api/conversations/${conv}`, undefined, owner.token)).body.title).toBe('Team');
    await server.api('PATCH', `/api/conversations/${conv}/members/${member.id}`, { role: 'admin' }, owner.token);
    expect((await server.api('PATCH', `/api/conversations/${conv}`, { title: 'Renamed' }, member.token)).status).toBe(200);
    expect((await server.api('PATCH', `/api/conversations/${conv}`, { title: 'By the app' })).status).toBe(200);
  });

  it('refuses user tokens without an expiry or living longer than Warbler ever mints', async () => {
    const u = await server.user('Tia');
    const key = createHmac('sha256', server.masterKey).update('warbler user tokens v1').digest();
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: { exp?: number; iat?: number }) => {
      let jwt = new SignJWT({ app: server.appId, ver: 0 }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(u.id);
      if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
      return jwt.sign(key);
    };
    const year2100 = Math.floor(Date.UTC(2100, 0, 1) / 1000);
    for (const [what, token] of [
      ['no exp', await sign({ iat: now })],
      ['exp in 2100', await sign({ iat: now, exp: year2100 })],
      ['no iat', await sign({ exp: now + 3600 })],
    ] as const) {
      const r = await server.api('GET', `/api/users/${u.id}`, undefined, token);
      expect(r.status, what).toBe(401);
    }
    expect((await server.api('GET', `/api/users/${u.id}`, undefined, await sign({ iat: now, exp: now + 3600 }))).status).toBe(200);
  });

  it('takes the user token as a subprotocol, so it never has to be in the URL', async () => {
    const u = await server.user('Sub');
    const ws = new WebSocket(server.wsUrl, ['warbler', `warbler.token.${u.token}`]);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
    expect(ready).toMatchObject({ type: 'ready', user_id: u.id });
    expect(ws.protocol).toBe('warbler');
    ws.close();
    const bad = new WebSocket(server.wsUrl, ['warbler', 'warbler.token.not-a-token']);
    expect(await new Promise((resolve) => bad.once('close', resolve))).toBe(4001);
  });

  it('closes a slow consumer with 4008, which it sees once it reads again', async () => {
    const slow = await server.user('Sloth');
    const talker = await server.user('Talker');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [talker.id] }, slow.token)).body.id;
    const ws = new WebSocket(`${server.wsUrl}?token=${encodeURIComponent(slow.token)}`);
    await new Promise((resolve) => ws.once('message', resolve)); // ready
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // Stop reading, as a phone on a bad link would, while the other member talks.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // Enough to fill the loopback socket buffers several times over, then the server's 256 KB bound.
    const text = 'x'.repeat(32_000);
    const sent = 400;
    for (let i = 0; i < sent; i++) {
      const r = await server.api('POST', `/api/conversations/${conv}/messages`, { type: 'text', content: { text } }, talker.token);
      expect(r.status).toBe(201);
    }
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(4008);
    // Nothing is lost: the messages are all there to resume from.
    const page = await server.api('GET', `/api/conversations/${conv}/messages?after=0&limit=200`, undefined, slow.token);
    expect(page.body.messages.length).toBe(Math.min(sent, 200));
  });
});
