import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLinks } from '../src/files/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// A real 1×1 PNG: the server reads types from bytes, so a signature alone is not an image.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a8f70b0000000049454e44ae426082', 'hex');
const HTML = Buffer.from('<!doctype html><html><body><script>fetch("/api/conversations")</script></body></html>');
const B = 'warbler-test-boundary';

function part(headers: string, body: string): string {
  return `--${B}\r\n${headers}\r\n\r\n${body}\r\n`;
}
const filePart = (field = 'file', name = 'a.txt', type = 'text/plain', body = 'hello') =>
  part(`Content-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: ${type}`, body);
const fieldPart = (name: string, value: string) => part(`Content-Disposition: form-data; name="${name}"`, value);
const CT = `multipart/form-data; boundary=${B}`;
const END = `--${B}--\r\n`;

/** Bodies no client should send, and what each must get instead of a 500. */
const MALFORMED: Array<{ name: string; contentType: string; body: string; status: number; message: RegExp }> = [
  { name: 'no boundary', contentType: 'multipart/form-data', body: filePart() + END, status: 400, message: /boundary/ },
  { name: 'truncated body', contentType: CT, body: filePart().slice(0, -6), status: 400, message: /ended early/ },
  { name: 'not multipart at all', contentType: CT, body: 'just some text', status: 400, message: /ended early/ },
  { name: 'no file part', contentType: CT, body: fieldPart('title', 'x') + fieldPart('purpose', 'batch') + END, status: 400, message: /No file/ },
  { name: 'wrong field name', contentType: CT, body: filePart('upload') + END, status: 400, message: /field named "file"/ },
  { name: 'too many fields', contentType: CT, body: Array.from({ length: 40 }, (_, i) => fieldPart(`f${i}`, 'x')).join('') + filePart() + END, status: 400, message: /Too many parts/ },
  { name: 'two files', contentType: CT, body: filePart() + filePart('file', 'b.txt') + END, status: 400, message: /Too many parts|one file/ },
];

async function upload(server: TestServer, conversationId: string, token: string, bytes: Buffer, mime: string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: mime }), name);
  const res = await fetch(`${server.url}/api/conversations/${conversationId}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

async function linkFor(server: TestServer, fileId: string, token: string) {
  return server.api('GET', `/api/files/${fileId}/url`, undefined, token);
}

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

for (const kind of storeKinds()) {
  describe(`files on ${kind}`, () => {
    let server: TestServer;
    let alice: { id: string; token: string };
    let bob: { id: string; token: string };
    let outsider: { id: string; token: string };
    let conv: string;

    beforeAll(async () => {
      server = await startServer(kind, { WARBLER_MAX_UPLOAD_BYTES: String(1024 * 1024) });
      alice = await server.user('Alice');
      bob = await server.user('Bob');
      outsider = await server.user('Eve');
      conv = (await server.api('POST', '/api/conversations', { kind: 'direct', member_ids: [bob.id] }, alice.token)).body.id;
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('serves a member a short-lived link that works as <img src>, with no header, shown in place', async () => {
      const up = await upload(server, conv, alice.token, PNG, 'image/png', 'dot.png');
      expect(up.status).toBe(201);
      expect(up.body.mime).toBe('image/png');
      const link = await linkFor(server, up.body.id, bob.token);
      expect(link.status).toBe(200);
      expect(link.body.url).toMatch(new RegExp(`^/api/files/${up.body.id}\\?app=default&exp=\\d+&sig=[\\w-]+$`));
      expect(link.body.url).not.toContain(bob.token);
      const lifetime = link.body.expires_at - Date.now();
      expect(lifetime).toBeGreaterThan(4 * 60_000);
      expect(lifetime).toBeLessThanOrEqual(10 * 60_000);

      const got = await fetch(server.url + link.body.url);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect(got.headers.get('content-disposition')).toMatch(/^inline; filename="dot\.png"; filename\*=UTF-8''dot\.png$/);
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(Buffer.from(await got.arrayBuffer())).toEqual(PNG);

      // Someone outside the conversation gets no link.
      expect((await linkFor(server, up.body.id, outsider.token)).status).toBe(403);
    });

    it('refuses a link once expired, for another file, for another app, or altered', async () => {
      const a = (await upload(server, conv, alice.token, PNG, 'image/png', 'a.png')).body;
      const b = (await upload(server, conv, alice.token, PNG, 'image/png', 'b.png')).body;
      const url = new URL((await linkFor(server, a.id, alice.token)).body.url, server.url);
      const get = async (fileId: string, params: Record<string, string>) => {
        const u = new URL(`/api/files/${fileId}`, server.url);
        for (const [k, v] of Object.entries({ app: 'default', exp: url.searchParams.get('exp')!, sig: url.searchParams.get('sig')!, ...params })) u.searchParams.set(k, v);
        const res = await fetch(u);
        return { status: res.status, body: await res.json().catch(() => undefined), headers: res.headers };
      };
      expect((await get(a.id, {})).status).toBe(200);

      const onB = await get(b.id, {});
      expect(onB.status).toBe(403);
      expect(onB.body.error.message).toMatch(/not valid for this file/);
      expect(onB.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");

      const other = await server.warbler.apps.create('Other app', `other-${kind}`);
      expect((await get(a.id, { app: other.app.id })).status).toBe(403);
      expect((await get(a.id, { exp: String(Number(url.searchParams.get('exp')) + 3600) })).status).toBe(403);

      // Correctly signed with the server's key, but its time is up.
      const past = new FileLinks(server.masterKey, 300, () => Date.now() - 3_600_000).mint('default', a.id);
      const expired = await fetch(server.url + past.url);
      expect(expired.status).toBe(403);
      expect((await expired.json()).error.message).toMatch(/expired.*GET \/api\/files\/:id\/url/);
    });

    it('never takes a session token in the URL, and asks for a link when nothing is given', async () => {
      const a = (await upload(server, conv, alice.token, PNG, 'image/png', 'c.png')).body;
      for (const param of ['token', 'access_token']) {
        const res = await fetch(`${server.url}/api/files/${a.id}?${param}=${encodeURIComponent(bob.token)}`);
        expect(res.status).toBe(400);
        expect((await res.json()).error.message).toMatch(/Tokens in URLs are not accepted.*GET \/api\/files\/:id\/url/);
      }
      const bare = await fetch(`${server.url}/api/files/${a.id}`);
      expect(bare.status).toBe(401);
      expect((await bare.json()).error.message).toMatch(/link from GET \/api\/files\/:id\/url/);
      // A server-side client with the header still downloads directly.
      const direct = await fetch(`${server.url}/api/files/${a.id}`, { headers: { authorization: `Bearer ${bob.token}` } });
      expect(direct.status).toBe(200);
    });

    it('reads the type from the bytes: HTML claimed as image/png is stored as a download, never shown or sent as an image', async () => {
      const up = await upload(server, conv, alice.token, HTML, 'image/png', 'cat.png');
      expect(up.status).toBe(201);
      expect(up.body.mime).toBe('application/octet-stream');
      const asImage = await server.api('POST', `/api/conversations/${conv}/messages`, { type: 'image', client_msg_id: `img-${kind}`, content: { file_id: up.body.id } }, alice.token);
      expect(asImage.status).toBe(400);
      expect(asImage.body.error.message).toMatch(/not an image/);

      const got = await fetch(server.url + (await linkFor(server, up.body.id, bob.token)).body.url);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('application/octet-stream');
      expect(got.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");

      // A real PDF keeps its type but downloads too; a name outside ASCII is sent per RFC 5987.
      const pdf = await upload(server, conv, alice.token, Buffer.from('%PDF-1.4\n%%EOF\n'), 'application/pdf', "报告 (final)'s.pdf");
      const gotPdf = await fetch(server.url + (await linkFor(server, pdf.body.id, bob.token)).body.url);
      expect(gotPdf.headers.get('content-type')).toBe('application/pdf');
      expect(gotPdf.headers.get('content-disposition')).toBe(`attachment; filename="__ (final)'s.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%28final%29%27s.pdf`);
    });

    it('answers malformed multipart with a 400 that says what is wrong, on all three upload endpoints', async () => {
      const kb = (await server.api('POST', '/api/knowledge-bases', { name: `kb-${kind}` })).body.id;
      const key = (await server.warbler.keys.create('default', { name: `files-${kind}` })).secret;
      const endpoints = [
        { path: `/api/conversations/${conv}/files`, credential: alice.token },
        { path: `/api/knowledge-bases/${kb}/documents`, credential: server.appSecret },
        { path: '/v1/files', credential: key },
      ];
      for (const c of MALFORMED) {
        for (const e of endpoints) {
          const res = await fetch(server.url + e.path, { method: 'POST', headers: { authorization: `Bearer ${e.credential}`, 'content-type': c.contentType }, body: c.body });
          const body = await res.json();
          const what = `${c.name} on ${e.path}`;
          expect(res.status, what).toBe(c.status);
          expect(body.error.message, what).toMatch(c.message);
          if (e.path === '/v1/files') expect(body.error.type, what).toBe('invalid_request_error');
          else expect(body.error.code, what).toBe('bad_request');
        }
      }
      // Nothing was stored by any refused upload.
      const stored = await readdir(path.join(server.warbler.config.dataDir, 'files', 'default'));
      expect(stored.every((name) => !name.endsWith('.tmp'))).toBe(true);
      expect((await server.api('GET', `/api/knowledge-bases/${kb}/documents`)).body.documents).toEqual([]);
    });

    it('answers a file over the limit with 413', async () => {
      const big = Buffer.alloc(server.warbler.config.maxUploadBytes + 1024, 'a');
      const res = await upload(server, conv, alice.token, big, 'text/plain', 'big.txt');
      expect(res.status).toBe(413);
      expect(res.body.error).toEqual({ code: 'payload_too_large', message: 'Files are at most 1 MiB.' });
      const kb = (await server.api('POST', '/api/knowledge-bases', { name: `big-${kind}` })).body.id;
      const doc = Buffer.alloc(server.warbler.knowledge.maxDocumentBytes + 1024, 'a');
      const raw = filePart('file', 'big.md', 'text/markdown', doc.toString()) + END;
      const kbRes = await fetch(`${server.url}/api/knowledge-bases/${kb}/documents`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}`, 'content-type': CT }, body: raw });
      expect(kbRes.status).toBe(413);
      expect((await kbRes.json()).error.code).toBe('payload_too_large');
    });

    it('keeps the data dir owner-only: 0700 folders, 0600 files', async () => {
      const up = await upload(server, conv, alice.token, PNG, 'image/png', 'mode.png');
      const dir = server.warbler.config.dataDir;
      expect(await modeOf(dir)).toBe(0o700);
      expect(await modeOf(path.join(dir, 'files'))).toBe(0o700);
      expect(await modeOf(path.join(dir, 'files', 'default'))).toBe(0o700);
      expect(await modeOf(path.join(dir, 'files', 'default', up.body.id))).toBe(0o600);
      expect(await modeOf(path.join(dir, 'default-app.secret'))).toBe(0o600);
      if (kind === 'sqlite') {
        for (const name of ['warbler.db', 'warbler.db-wal', 'warbler.db-shm']) expect(await modeOf(path.join(dir, name)), name).toBe(0o600);
      }
    });
  });
}

describe('the request log', () => {
  it('never holds a token or a link signature', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-log-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'log-test-master-key-0123456789', WARBLER_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const seen = () => {
          const m = /Warbler is running at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        };
        child.stdout.on('data', seen);
        void exited.then((code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
      const secret = (await import('node:fs/promises')).readFile(path.join(dataDir, 'default-app.secret'), 'utf8');
      const appSecret = (await secret).trim();
      const call = async (method: string, p: string, body?: unknown, credential = appSecret) =>
        (await fetch(url + p, { method, headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })).json();
      await call('POST', '/api/users', { id: 'lena', name: 'Lena' });
      const token = (await call('POST', '/api/users/lena/tokens', {})).token as string;
      const conv = (await call('POST', '/api/conversations', { kind: 'group', member_ids: [], title: 'log' }, token)).id as string;
      const form = new FormData();
      form.append('file', new Blob([PNG], { type: 'image/png' }), 'dot.png');
      const file = await (await fetch(`${url}/api/conversations/${conv}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })).json();
      const link = await call('GET', `/api/files/${file.id}/url`, undefined, token);
      expect((await fetch(url + link.url)).status).toBe(200);
      expect((await fetch(`${url}/api/files/${file.id}?token=${token}`)).status).toBe(400);
      expect((await fetch(`${url}/api/users?api_key=sk-live-123&secret=s3cr3t`, { headers: { authorization: `Bearer ${appSecret}` } })).status).toBe(200);
      const sig = new URL(link.url, url).searchParams.get('sig')!;

      child.kill('SIGTERM');
      await exited;
      const requests = out.split('\n').filter((l) => l.includes('"msg":"request"'));
      expect(requests.some((l) => l.includes(`/api/files/${file.id}?app=default&exp=`) && l.includes('sig=[redacted]'))).toBe(true);
      expect(requests.some((l) => l.includes('token=[redacted]'))).toBe(true);
      for (const secretValue of [token, sig, appSecret, 'sk-live-123', 's3cr3t']) expect(out).not.toContain(secretValue);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
