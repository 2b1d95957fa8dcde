import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from './errors.ts';
import { webStatic } from './web.ts';

describe('the web app at /', () => {
  let dir: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'warbler-web-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    // What the build's precompress step writes beside a text asset.
    await writeFile(path.join(dir, 'assets', 'app-1234.js.br'), brotliCompressSync('console.log(1)'));
    await writeFile(path.join(dir, 'assets', 'app-1234.js.gz'), gzipSync('console.log(1)'));
    await writeFile(path.join(dir, 'robots.txt'), 'User-agent: *');
    app = Fastify();
    registerErrorHandling(app);
    app.get('/api/users', async () => ({ users: [] }));
    app.get('/v1/models', async () => ({ data: [] }));
    await app.register(webStatic(dir));
  });
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string) => app.inject({ method: 'GET', url });

  it('sends the precompressed copy the browser accepts, cached for a year', async () => {
    const br = await app.inject({ method: 'GET', url: '/assets/app-1234.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toMatch(/immutable/);
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe('console.log(1)');
    const gz = await app.inject({ method: 'GET', url: '/assets/app-1234.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe('console.log(1)');
    const plain = await app.inject({ method: 'GET', url: '/assets/app-1234.js', headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log(1)');
  });

  it('serves the page, with a CSP that runs only its own scripts, for / and every app path', async () => {
    for (const url of ['/', '/index.html', '/console', '/console/usage?x=1', '/chat/%E4%BD%A0']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('<title>app</title>');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves files as they are, hashed assets cached for good', async () => {
    const js = await get('/assets/app-1234.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await get('/robots.txt')).body).toBe('User-agent: *');
  });

  it('leaves the API, the gateway and missing files to their own 404s', async () => {
    expect((await get('/api/users')).json()).toEqual({ users: [] });
    expect((await get('/v1/models')).json()).toEqual({ data: [] });
    for (const url of ['/api/nope', '/v1/nope', '/admin/nope', '/ws', '/metrics', '/assets/gone-999.js', '/favicon.ico', '/assets/../../etc/passwd.txt']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toBe('not_found');
    }
  });
});
