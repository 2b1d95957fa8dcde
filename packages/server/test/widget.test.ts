import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIdentity } from '../src/widget/index.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const SITE = 'https://shop.example.com';
const OTHER_SITE = 'http://127.0.0.1:9999';
const EVIL = 'https://evil.example.net';
const PER_IP = 40;

// The script the server serves is the built widget.
beforeAll(() => {
  execFileSync(process.execPath, ['build.mjs'], { cwd: path.resolve(import.meta.dirname, '../../widget'), stdio: 'pipe' });
}, 60_000);

/** A captcha verifier on loopback: accepts the token "human", refuses everything else; counts its calls. */
function captchaServer(): Promise<{ url: string; calls: Array<{ token: string; remote_ip: string }>; server: Server }> {
  const calls: Array<{ token: string; remote_ip: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { token: string; remote_ip: string };
      calls.push(parsed);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ success: parsed.token === 'human' }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${port}/verify`, calls, server });
  }));
}

describe.each(storeKinds())('the website widget on %s', (kind) => {
  let s: TestServer;
  let captcha: Awaited<ReturnType<typeof captchaServer>>;

  /** POST /api/widget/session from a page (Origin header), as the widget does. */
  const session = async (body: Record<string, unknown>, origin: string | undefined = SITE) => {
    const res = await fetch(`${s.url}/api/widget/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify({ app_id: 'default', ...body }),
    });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  const asVisitor = async (token: string, p: string, origin?: string) => {
    const res = await fetch(s.url + p, { headers: { authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) } });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };

  beforeAll(async () => {
    captcha = await captchaServer();
    const configPath = path.join(tmpdir(), `warbler-widget-${kind}-${process.pid}.yaml`);
    await writeFile(configPath, ['version: 1', 'outbound:', '  allow_http_hosts: ["127.0.0.1"]', `  allow_hosts: ["127.0.0.1:${new URL(captcha.url).port}"]`, ''].join('\n'));
    s = await startServer(kind, { WARBLER_CONFIG: configPath, WARBLER_WIDGET_SESSIONS_PER_IP: String(PER_IP) });
  });
  afterAll(async () => {
    await s?.stop();
    captcha?.server.close();
  });

  it('serves the script versioned, cached and with its integrity', async () => {
    const manifest = await (await fetch(`${s.url}/widget/v1/manifest.json`)).json() as { version: string; url: string; integrity: string; gzip_bytes: number };
    const moving = await fetch(`${s.url}/widget/v1/widget.js`);
    expect(moving.status).toBe(200);
    expect(moving.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(moving.headers.get('cache-control')).toBe('public, max-age=3600, stale-while-revalidate=86400');
    expect(moving.headers.get('access-control-allow-origin')).toBe('*');
    const body = Buffer.from(await moving.arrayBuffer());
    expect(manifest.integrity).toBe(`sha384-${createHash('sha384').update(body).digest('base64')}`);
    const pinned = await fetch(s.url + manifest.url);
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await pinned.arrayBuffer()).equals(body)).toBe(true);
    expect((await fetch(`${s.url}/widget/9.9.9/widget.js`)).status).toBe(404);
    const again = await fetch(`${s.url}/widget/v1/widget.js`, { headers: { 'if-none-match': moving.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(manifest.gzip_bytes).toBeLessThan(20_000);
  });

  it('gives no session until the operator lists the sites that may embed it, and only the app may set that', async () => {
    const off = await session({});
    expect(off.status).toBe(403);
    expect(off.body.error.message).toMatch(/PUT \/api\/widget\/settings/);
    const user = await s.user('Mallory');
    expect((await s.api('PUT', '/api/widget/settings', { allowed_origins: [EVIL] }, user.token)).status).toBe(403);
    expect((await s.api('PUT', '/api/widget/settings', { allowed_origins: ['https://shop.example.com/path'] })).status).toBe(400);
    expect((await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE], agent_id: 'no-such-agent' })).status).toBe(400);
    const saved = await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE, OTHER_SITE] });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ allowed_origins: [SITE, OTHER_SITE], agent_id: null, identity_secret_set: false });
  });

  it('gives an anonymous visitor an id, a short-lived token and their conversation with the agent, and the same ones again with their key', async () => {
    const first = await session({ locale: 'zh-CN' });
    expect(first.status).toBe(200);
    expect(first.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(first.body.user_id).toMatch(/^wv_/);
    expect(first.body.visitor_key).toMatch(/^wvk\.wv_/);
    expect(first.body.agent).toEqual({ id: 'warbler-assistant', name: 'Warbler Assistant' });
    // A support conversation, answered by the AI until a person takes it.
    expect(first.body.support_status).toBe('bot');
    expect((await asVisitor(first.body.token, `/api/conversations/${first.body.conversation_id}`)).body.kind).toBe('support');
    expect(first.body.expires_at - Date.now()).toBeLessThanOrEqual(30 * 60_000 + 5_000);
    const members = await asVisitor(first.body.token, `/api/conversations/${first.body.conversation_id}/members`);
    expect(members.status).toBe(200);
    expect(members.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([first.body.user_id, 'warbler-assistant'].sort());

    const back = await session({ visitor_key: first.body.visitor_key });
    expect(back.status).toBe(200);
    expect(back.body.user_id).toBe(first.body.user_id);
    expect(back.body.conversation_id).toBe(first.body.conversation_id);

    // A key changed by one character, or one made for another app, is not this visitor.
    const key = first.body.visitor_key as string;
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect((await session({ visitor_key: tampered })).status).toBe(401);
    const other = await s.api('POST', '/admin/apps', { name: 'Other shop' }, s.masterKey);
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE] }, other.body.secret);
    const elsewhere = await session({ app_id: other.body.app.id, visitor_key: key });
    expect(elsewhere.status).toBe(401);
  });

  it('answers only the origins the operator allowed: sessions, preflights and the API calls the widget makes', async () => {
    expect((await session({}, EVIL)).status).toBe(403);
    const preflight = (origin: string) => fetch(`${s.url}/api/widget/session`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const ok = await preflight(SITE);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const refused = await preflight(EVIL);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    const visitor = await session({}, OTHER_SITE);
    expect(visitor.status).toBe(200);
    const history = `/api/conversations/${visitor.body.conversation_id}/messages`;
    const allowed = await asVisitor(visitor.body.token, history, OTHER_SITE);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(OTHER_SITE);
    const stolen = await asVisitor(visitor.body.token, history, EVIL);
    expect(stolen.status).toBe(403);
    expect(stolen.body.error.code).toBe('forbidden');
    expect(stolen.headers.get('access-control-allow-origin')).toBeNull();
    // Servers (no Origin) and the server's own pages are not CORS calls.
    expect((await asVisitor(visitor.body.token, history)).status).toBe(200);
    expect((await asVisitor(visitor.body.token, history, s.url)).status).toBe(200);
    // Another app's allowed origin is not this app's: the other shop allows only SITE.
    const other = await s.api('POST', '/admin/apps', { name: 'Third shop' }, s.masterKey);
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [EVIL] }, other.body.secret);
    expect((await asVisitor(visitor.body.token, history, EVIL)).status).toBe(403);
    expect((await session({}, EVIL)).status).toBe(403);
  });

  it('verifies a signed identity, and refuses forged, expired, far-future and replayed signatures', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = { user_id: 'cust-42', expires_at: now + 600, signature: '0'.repeat(64) };
    expect((await session({ identity: unsigned })).status).toBe(403); // no secret minted yet
    const minted = await s.api('POST', '/api/widget/identity-secret', {});
    expect(minted.status).toBe(200);
    const secret = minted.body.identity_secret as string;
    expect((await s.api('GET', '/api/widget/settings')).body.identity_secret_set).toBe(true);
    const signed = (userId: string, expiresAt: number, key = secret) => ({ user_id: userId, expires_at: expiresAt, signature: signIdentity(key, userId, expiresAt), name: 'Ada Customer' });

    const good = signed('cust-42', now + 600);
    const ok = await session({ identity: good });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ user_id: 'cust-42', visitor_key: null });
    expect((await s.api('GET', '/api/users/cust-42')).body.name).toBe('Ada Customer');

    const replay = await session({ identity: good });
    expect(replay.status).toBe(401);
    expect(replay.body.error.message).toMatch(/used before/);
    const forged = await session({ identity: signed('cust-42', now + 601, 'wis_not-the-secret') });
    expect(forged.status).toBe(401);
    expect(forged.body.error.message).toMatch(/does not match/);
    // The signature covers the id: the same signature for another user is forged too.
    expect((await session({ identity: { ...signed('cust-42', now + 602), user_id: 'cust-43' } })).status).toBe(401);
    const expired = await session({ identity: signed('cust-42', now - 1) });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
    expect((await session({ identity: signed('cust-42', now + 2 * 86_400) })).status).toBe(401);
    // An agent is never a visitor, even signed.
    expect((await session({ identity: signed('warbler-assistant', now + 603) })).status).toBe(403);

    // A new secret: what the old one signed no longer verifies.
    const rotated = (await s.api('POST', '/api/widget/identity-secret', {})).body.identity_secret as string;
    expect((await session({ identity: signed('cust-42', now + 604) })).status).toBe(401);
    expect((await session({ identity: signed('cust-42', now + 605, rotated) })).status).toBe(200);

    // Signed-in visitors only: anonymous ones are turned away.
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE, OTHER_SITE], identified_only: true });
    expect((await session({})).status).toBe(401);
    expect((await session({ identity: signed('cust-44', now + 606, rotated) })).status).toBe(200);
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE, OTHER_SITE], identified_only: false });
  });

  it('asks the operator\'s captcha verifier before it admits a new anonymous visitor, not a returning one', async () => {
    const returning = await session({});
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE, OTHER_SITE], captcha_url: captcha.url });
    expect((await session({})).status).toBe(403);
    const robot = await session({ captcha_token: 'robot' });
    expect(robot.status).toBe(403);
    expect(robot.body.error.message).toMatch(/captcha was not accepted/);
    expect((await session({ captcha_token: 'human' })).status).toBe(200);
    expect(captcha.calls.map((c) => c.token)).toEqual(['robot', 'human']);
    expect(captcha.calls[0]!.remote_ip).toBe('127.0.0.1');
    expect((await session({ visitor_key: returning.body.visitor_key })).status).toBe(200);
    expect(captcha.calls).toHaveLength(2);
    await s.api('PUT', '/api/widget/settings', { allowed_origins: [SITE, OTHER_SITE], captcha_url: null });
  });

  it('limits new sessions per visitor and then per address, saying when to come back', async () => {
    const first = await session({});
    let refused: Awaited<ReturnType<typeof session>> | undefined;
    for (let i = 0; i < 12 && !refused; i++) {
      const again = await session({ visitor_key: first.body.visitor_key });
      if (again.status === 429) refused = again;
      else expect(again.status).toBe(200);
    }
    expect(refused?.body.error.message).toMatch(/this visitor/);
    expect(refused?.body.error.details.retry_after_ms).toBeGreaterThan(0);

    let byAddress: Awaited<ReturnType<typeof session>> | undefined;
    for (let i = 0; i < PER_IP + 1 && !byAddress; i++) {
      const fresh = await session({});
      if (fresh.status === 429) byAddress = fresh;
    }
    expect(byAddress?.body.error.message).toMatch(/this address/);
  });
});
