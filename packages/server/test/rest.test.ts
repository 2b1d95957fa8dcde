import type { ByeFrame } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, TestSocket, type TestServer } from './harness.ts';

describe.each(storeKinds())('REST API on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, { WARBLER_MAX_UPLOAD_BYTES: '1024' });
  });
  afterAll(async () => server?.stop());

  it('answers health checks and serves an OpenAPI document generated from the request schemas', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(doc.openapi).toMatch(/^3\./);
    const create = doc.paths['/api/users'].post;
    expect(create.requestBody.content['application/json'].schema.properties.name).toMatchObject({ type: 'string', minLength: 1 });
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/conversations/{conversationId}/messages', '/api/conversations/{conversationId}/files']));
  });

  it('shapes every error as { error: { code, message } } with the fitting status, and changes nothing', async () => {
    const bad = await server.api('POST', '/api/users', { name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/name/) });
    const notJson = await fetch(`${server.url}/api/users`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('bad_request');
    const missing = await server.api('GET', '/api/users/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const route = await server.api('GET', '/api/nope');
    expect(route.status).toBe(404);
    const unauth = await fetch(`${server.url}/api/users`);
    expect(unauth.status).toBe(401);
    expect((await unauth.json()).error.code).toBe('unauthorized');
    const first = await server.api('POST', '/api/users', { id: 'dup', name: 'One' });
    expect(first.status).toBe(201);
    const dup = await server.api('POST', '/api/users', { id: 'dup', name: 'Two' });
    expect(dup.status).toBe(409);
    expect((await server.api('GET', '/api/users/dup')).body.name).toBe('One');
    expect(bad.headers.get('x-request-id')).toBeTruthy();
  });

  it('mints tokens only within the allowed lifetime', async () => {
    const u = await server.user('Tess');
    expect((await server.api('POST', `/api/users/${u.id}/tokens`, { ttl_seconds: 10 })).status).toBe(400);
    const ok = await server.api('POST', `/api/users/${u.id}/tokens`, { ttl_seconds: 120 });
    expect(ok.body.expires_at).toBeGreaterThan(Date.now() + 100_000);
  });

  it('returns the existing direct conversation instead of a second one', async () => {
    const a = await server.user('Ann');
    const b = await server.user('Ben');
    const first = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [b.id] }, a.token);
    const second = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [a.id] }, b.token);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const three = await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [a.id, b.id], created_by: (await server.user('Cy')).id });
    expect(three.status).toBe(400);
  });

  it('lists conversations by last activity and pages users', async () => {
    const me = await server.user('Lister');
    const peers = await Promise.all([1, 2, 3].map((i) => server.user(`Peer${i}`)));
    const convs = [];
    for (const p of peers) convs.push((await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [p.id] }, me.token)).body.id);
    await new Promise((r) => setTimeout(r, 5));
    await server.api('POST', `/api/conversations/${convs[0]}/messages`, { client_msg_id: 'x', content: { text: 'bump' } }, peers[0]!.token);
    const list = await server.api('GET', '/api/conversations?limit=2', undefined, me.token);
    expect(list.body.conversations.map((c: { id: string }) => c.id)).toEqual([convs[0], convs[2]]);
    const next = await server.api('GET', `/api/conversations?limit=2&before=${list.body.next_before}`, undefined, me.token);
    expect(next.body.conversations.map((c: { id: string }) => c.id)).toEqual([convs[1]]);
    const byCursor = await server.api('GET', `/api/conversations?limit=2&cursor=${list.body.next_cursor}`, undefined, me.token);
    expect(byCursor.body.conversations.map((c: { id: string }) => c.id)).toEqual([convs[1]]);
    expect(byCursor.body.next_cursor).toBeNull();
    const bad = await server.api('GET', '/api/conversations?limit=2&cursor=bm90LWEtY3Vyc29y', undefined, me.token);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/next_cursor/);
    const page1 = await server.api('GET', '/api/users?limit=2');
    const page2 = await server.api('GET', `/api/users?limit=2&after=${page1.body.next_after}`);
    expect(page1.body.users).toHaveLength(2);
    expect(page2.body.users[0].id).not.toBe(page1.body.users[1].id);
  });

  it('stores uploads for members only, within the size and type limits, and sends them as messages', async () => {
    const a = await server.user('Uma');
    const b = await server.user('Vic');
    const outsider = await server.user('Wes');
    const conv = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [b.id] }, a.token)).body.id;
    const upload = async (token: string, bytes: Uint8Array<ArrayBuffer>, mime: string, name = 'pic.png') => {
      const form = new FormData();
      form.append('file', new Blob([bytes], { type: mime }), name);
      const res = await fetch(`${server.url}/api/conversations/${conv}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      return { status: res.status, body: await res.json() };
    };
    // A real 1×1 PNG: the server reads the type from the bytes.
    const png = new Uint8Array(Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a8f70b0000000049454e44ae426082', 'hex'));
    const ok = await upload(a.token, png, 'image/png');
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ mime: 'image/png', size: png.length, name: 'pic.png' });
    expect((await upload(a.token, new Uint8Array(2048), 'image/png')).status).toBe(413);
    expect((await upload(a.token, png, 'application/x-msdownload', 'evil.exe')).status).toBe(415);
    expect((await upload(outsider.token, png, 'image/png')).status).toBe(403);

    const sent = await server.api('POST', `/api/conversations/${conv}/messages`, { type: 'image', client_msg_id: 'img', content: { file_id: ok.body.id, name: 'spoofed.exe', mime: 'text/html' } }, a.token);
    expect(sent.status).toBe(201);
    expect(sent.body.message.content).toMatchObject({ file_id: ok.body.id, name: 'pic.png', mime: 'image/png' });

    const get = (token: string) => fetch(`${server.url}/api/files/${ok.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    const got = await get(b.token);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(png);
    expect((await get(outsider.token)).status).toBe(403);

    // A file from another conversation cannot be attached here.
    const other = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [outsider.id] }, a.token)).body.id;
    const foreign = await server.api('POST', `/api/conversations/${other}/messages`, { type: 'image', client_msg_id: 'img2', content: { file_id: ok.body.id } }, a.token);
    expect(foreign.status).toBe(400);
  });
});

describe('graceful shutdown', () => {
  it('tells connected clients to reconnect with a bye frame and close code 1012, and stops answering health checks', async () => {
    const server = await startServer('sqlite');
    const u = await server.user('Zed');
    const socket = await TestSocket.open(server.wsUrl, u.token);
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)));
    const stopping = server.stop();
    expect(await closed).toBe(1012);
    const bye = socket.frames.find((f): f is ByeFrame => f.type === 'bye');
    expect(bye).toMatchObject({ code: 1012, retry_after_ms: expect.any(Number) });
    await stopping;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
