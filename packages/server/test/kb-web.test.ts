// Websites a knowledge base reads: a crawl of a local test site (robots.txt,
// noindex, depth, other origins), a resync that asks conditionally and
// re-indexes only what changed and removes what is gone, a sitemap, and the
// outbound address policy, on each store over real sockets.
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSource } from '@warbler/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const html = (title: string, body: string, head = '') => `<html><head><title>${title}</title>${head}</head><body><article><h1>${title}</h1>${body}</article></body></html>`;

/** The test site: path → page; a missing path answers 404. Every page has an ETag and answers 304 to a matching If-None-Match. */
function sitePages(): Map<string, string> {
  return new Map([
    ['/robots.txt', 'User-agent: *\nDisallow: /private/\n'],
    ['/', html('Help centre', '<p>Welcome to the help centre of Lark Shoes.</p><a href="/help/returns">Returns</a> <a href="/help/shipping#top">Shipping</a> <a href="/private/salaries">Salaries</a> <a href="/about">About</a> <a href="https://other.example/x">Elsewhere</a> <a href="/logo.png">Logo</a>')],
    ['/help/returns', html('Returns', '<p>Unworn shoes can be returned within sixty days for a full refund.</p><a href="/">Home</a>')],
    ['/help/shipping', html('Shipping', '<p>Parcels leave the warehouse in Ningbo within two working days.</p><a href="/help/deep">More</a>')],
    ['/help/deep', html('Customs', '<p>Customs duties for orders outside China are paid by the recipient.</p><a href="/help/deeper">Even more</a>')],
    ['/help/deeper', html('Too deep', '<p>A page three links away from the start.</p>')],
    ['/private/salaries', html('Salaries', '<p>Confidential payroll figures.</p>')],
    ['/about', html('About', '<p>About page that asks not to be indexed.</p><a href="/help/faq">FAQ</a>', '<meta name="robots" content="noindex">')],
    ['/help/faq', html('FAQ', '<p>退货运费由商家承担，七天内可以无理由退货。</p>')],
    ['/sitemap.xml', ''],
  ]);
}

describe.each(storeKinds())('web sources on %s', (kind) => {
  let server: TestServer;
  let site: Server;
  let siteUrl: string;
  let configPath: string;
  let pages = sitePages();
  const requests: Array<{ path: string; conditional: boolean; status: number }> = [];

  beforeAll(async () => {
    site = createServer((req, res) => {
      const at = new URL(req.url ?? '/', 'http://x').pathname;
      const body = pages.get(at);
      const conditional = typeof req.headers['if-none-match'] === 'string';
      if (body === undefined) {
        requests.push({ path: at, conditional, status: 404 });
        return void res.writeHead(404).end('not found');
      }
      const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
      const status = req.headers['if-none-match'] === etag ? 304 : 200;
      requests.push({ path: at, conditional, status });
      const type = at.endsWith('.txt') ? 'text/plain' : at.endsWith('.xml') ? 'application/xml' : 'text/html; charset=utf-8';
      res.writeHead(status, { etag, 'content-type': type }).end(status === 304 ? undefined : body);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    configPath = path.join(tmpdir(), `warbler-kb-web-${kind}-${process.pid}.yaml`);
    // The test site is on loopback, which a crawl (like agent tools) may only reach when the operator allows it.
    await writeFile(configPath, 'version: 1\noutbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }\n');
    server = await startServer(kind, { WARBLER_CONFIG: configPath });
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => site?.close(resolve));
    await rm(configPath, { force: true });
  });

  /** Waits until the source's run ended and every page it queued is parsed. */
  async function settled(kb: string, id: string): Promise<WebSource> {
    const until = Date.now() + 90_000;
    for (;;) {
      const source = (await server.api('GET', `/api/knowledge-bases/${kb}/web-sources/${id}`)).body as WebSource;
      const uploads = (await server.api('GET', `/api/knowledge-bases/${kb}/uploads`)).body.uploads as Array<{ status: string }>;
      if ((source.status === 'idle' || source.status === 'failed') && uploads.every((u) => u.status === 'ready' || u.status === 'failed')) return source;
      if (Date.now() > until) throw new Error(`web source still ${source.status}`);
      await sleep(100);
    }
  }

  const sources = async (kb: string) => ((await server.api('GET', `/api/knowledge-bases/${kb}/documents`)).body.documents as Array<{ source: string }>).map((d) => d.source.replace(siteUrl, '')).sort();
  const search = async (kb: string, query: string) => ((await server.api('POST', `/api/knowledge-bases/${kb}/search`, { query })).body.passages as Array<{ source: string; text: string }>);

  it('crawls the site within its depth, respecting robots.txt and noindex, then resyncs only what changed and removes what is gone', async () => {
    pages = sitePages();
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Lark help' })).body.id as string;
    const created = await server.api('POST', `/api/knowledge-bases/${kb}/web-sources`, { url: `${siteUrl}/`, mode: 'crawl', max_depth: 2, resync_hours: 24 });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ status: 'queued', mode: 'crawl', pages: 0 });
    const first = await settled(kb, created.body.id);
    expect(first.status, first.reason ?? '').toBe('idle');
    // Depth 2 from the start: /help/deeper is three links away. /private/ is disallowed; /about asked not to be indexed (its link to the FAQ is still followed).
    expect(await sources(kb)).toEqual(['/', '/help/deep', '/help/faq', '/help/returns', '/help/shipping']);
    expect(first.last_run).toMatchObject({ added: 5, changed: 0, unchanged: 0, removed: 0, excluded: 2, failed: 0 });
    expect(first.pages).toBe(5);
    expect(first.next_run_at).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(requests.some((r) => r.path.startsWith('/private/'))).toBe(false);
    expect(requests.some((r) => r.path === '/help/deeper' || r.path === '/logo.png')).toBe(false);
    expect((await search(kb, 'unworn shoes sixty days'))[0]?.source).toBe(`${siteUrl}/help/returns`);
    expect((await search(kb, '退货运费'))[0]?.source).toBe(`${siteUrl}/help/faq`);

    // The site changes: returns is rewritten, shipping is taken down (and with it the only link to the customs page).
    pages.set('/help/returns', html('Returns', '<p>Unworn shoes can be returned within ninety days for a full refund.</p><a href="/">Home</a>'));
    pages.delete('/help/shipping');
    requests.length = 0;
    const resync = await server.api('POST', `/api/knowledge-bases/${kb}/web-sources/${created.body.id}/resync`);
    expect(resync.status, JSON.stringify(resync.body)).toBe(202);
    const second = await settled(kb, created.body.id);
    expect(second.last_run).toMatchObject({ added: 0, changed: 1, unchanged: 2, removed: 2, failed: 0 });
    expect(await sources(kb)).toEqual(['/', '/help/faq', '/help/returns']);
    // Unchanged pages were asked for conditionally and not sent again.
    expect(requests.filter((r) => r.path === '/' || r.path === '/help/faq').map((r) => [r.conditional, r.status])).toEqual([[true, 304], [true, 304]]);
    const now = await search(kb, 'returned within ninety days');
    expect(now[0]?.text).toContain('ninety days');
    expect((await search(kb, 'sixty days')).some((p) => p.text.includes('sixty'))).toBe(false);
    expect((await search(kb, 'warehouse Ningbo')).some((p) => p.source.endsWith('/help/shipping'))).toBe(false);

    // Removing the source takes its pages out of the knowledge base.
    expect((await server.api('DELETE', `/api/knowledge-bases/${kb}/web-sources/${created.body.id}`)).status).toBe(204);
    expect(await sources(kb)).toEqual([]);
    expect((await server.api('GET', `/api/knowledge-bases/${kb}/web-sources`)).body.web_sources).toEqual([]);
  }, 120_000);

  it('reads the pages a sitemap lists, and only those on its own site', async () => {
    pages = sitePages();
    pages.set('/sitemap.xml', `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${siteUrl}/help/returns</loc></url><url><loc>${siteUrl}/help/deeper</loc></url><url><loc>${siteUrl}/private/salaries</loc></url><url><loc>https://other.example/page</loc></url></urlset>`);
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Sitemap' })).body.id as string;
    const created = await server.api('POST', `/api/knowledge-bases/${kb}/web-sources`, { url: `${siteUrl}/sitemap.xml`, mode: 'sitemap', resync_hours: null });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await settled(kb, created.body.id);
    expect(done.status, done.reason ?? '').toBe('idle');
    expect(await sources(kb)).toEqual(['/help/deeper', '/help/returns']);
    expect(done.last_run).toMatchObject({ added: 2, excluded: 1 });
    expect(done.next_run_at).toBeNull();
  }, 120_000);

  it('refuses what it cannot read, with a reason, and changes nothing', async () => {
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Refusals' })).body.id as string;
    const bad = [
      { url: 'ftp://127.0.0.1/x' }, { url: 'not a url' }, { url: `${siteUrl}/`, mode: 'spider' }, { url: `${siteUrl}/`, max_pages: 100_000 },
      { url: `${siteUrl}/`, max_depth: 9 }, { url: `${siteUrl}/`, extra: true },
    ];
    for (const body of bad) expect((await server.api('POST', `/api/knowledge-bases/${kb}/web-sources`, body)).status, JSON.stringify(body)).toBe(400);
    expect((await server.api('POST', '/api/knowledge-bases/kb_nope/web-sources', { url: `${siteUrl}/` })).status).toBe(404);
    // A metadata address is never fetched: the run fails with the policy's reason, and the knowledge base stays empty.
    const metadata = await server.api('POST', `/api/knowledge-bases/${kb}/web-sources`, { url: 'http://169.254.169.254/latest/', mode: 'page' });
    expect(metadata.status).toBe(202);
    const failed = await settled(kb, metadata.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/address|allowed|link-local|refused/i);
    expect(await sources(kb)).toEqual([]);
    // Another app cannot see or resync it.
    const other = (await server.api('POST', '/admin/apps', { name: 'Other web co' }, server.masterKey)).body.secret as string;
    expect((await server.api('GET', `/api/knowledge-bases/${kb}/web-sources/${metadata.body.id}`, undefined, other)).status).toBe(404);
    expect((await server.api('POST', `/api/knowledge-bases/${kb}/web-sources/${metadata.body.id}/resync`, undefined, other)).status).toBe(404);
  }, 120_000);
});
