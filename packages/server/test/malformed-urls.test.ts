// Found by the fuzz suite (test/fuzz): URLs Fastify refuses before any route
// runs left in Fastify's own error shape, unknown /v1 routes in ours instead of OpenAI's, a model id holding % was a 500, and ids longer than 100 characters,
// which the users API accepts, could not be used in a path at all. Requests
// Node's HTTP parser refuses (a 70 KB URL, broken HTTP) answered likewise.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

describe.each(storeKinds())('malformed and long URLs on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind);
  });
  afterAll(async () => server?.stop());

  const get = async (path: string, credential = server.appSecret) => {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${credential}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('answers a URL that is not valid UTF-8 percent-encoding with 400 in the Warbler shape', async () => {
    for (const path of ['/api/users/%ff', '/api/conversations/%ED%A0%80/messages', '/api/files/%c0%af']) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body, path).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(/percent-encode/) } });
    }
  });

  it('answers one on /v1 in the OpenAI shape', async () => {
    const res = await get('/v1/models/%ff', server.masterKey);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { message: expect.stringMatching(/percent-encode/), type: 'invalid_request_error', param: null, code: null } });
  });

  it('answers a /v1 route that does not exist in the OpenAI shape', async () => {
    for (const path of ['/v1/responses', '/v1/batches/..', `/v1/files/${'y'.repeat(2_000)}`]) {
      const res = await get(path, server.masterKey);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toEqual({ error: { message: expect.stringMatching(/No route/), type: 'invalid_request_error', param: null, code: 'not_found' } });
    }
  });

  it('answers a model id holding % (decoded once, by the router) with 404 model_not_found, not 500', async () => {
    for (const path of ['/v1/models/a%25b', '/v1/models/y%3AO%25e%24']) {
      const res = await get(path, server.masterKey);
      expect(res.status, path).toBe(404);
      expect(res.body.error, path).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    }
    expect((await get('/v1/models/local%2Fkb-answer', server.masterKey)).body).toMatchObject({ id: 'local/kb-answer', object: 'model' });
  });

  it('answers a bad body to a /v1 URL without a route in the OpenAI shape', async () => {
    for (const [contentType, body] of [['application/json', '{"broken'], ['text/plain', 'x']] as const) {
      const res = await fetch(`${server.url}/v1/nothing-here`, { method: 'POST', headers: { authorization: `Bearer ${server.masterKey}`, 'content-type': contentType }, body });
      const json = (await res.json()) as { error: Record<string, unknown> };
      expect(res.status, contentType).toBeGreaterThanOrEqual(400);
      expect(json.error, contentType).toEqual({ message: expect.any(String), type: 'invalid_request_error', param: null, code: expect.any(String) });
    }
  });

  it('serves a user whose id is 128 characters, the longest the users API accepts', async () => {
    const id = `u${'x'.repeat(127)}`;
    expect((await server.api('POST', '/api/users', { id, name: 'Long' })).status).toBe(201);
    expect((await get(`/api/users/${id}`)).body).toMatchObject({ id });
    expect((await server.api('POST', `/api/users/${id}/tokens`, {})).status).toBe(200);
  });

  it('answers a path segment longer than any id in the Warbler shape', async () => {
    const res = await get(`/api/users/${'y'.repeat(2_000)}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  /** The answer to bytes written straight to the socket: status line and JSON body. */
  function rawExchange(request: string): Promise<{ status: number; body: any }> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write(request));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('error', () => {});
      socket.on('close', () => {
        const [head, body = ''] = text.split('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]);
        try {
          resolve({ status, body: JSON.parse(body) });
        } catch {
          reject(new Error(`not JSON: ${text.slice(0, 300)}`));
        }
      });
    });
  }

  it('answers a URL over the header limit with 431 in a shape both Warbler and OpenAI clients read', async () => {
    const res = await rawExchange(`GET /api/users?after=${'z'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(/too large/), type: 'invalid_request_error', param: null } });
  });

  it('answers bytes that are not HTTP with 400 in the same shape', async () => {
    const res = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', type: 'invalid_request_error' });
  });
});
