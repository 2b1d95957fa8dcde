import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWarbler } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { startServer, storeKinds, type TestServer } from './harness.ts';
import { makeDocx, makePdf, makePptx, makeWorkbook, makeZipBomb } from './kb-files.ts';
import { settled, upload } from './kb-uploads.ts';
import { createTestDatabase } from './postgres.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FILES = () => ({
  'handbook.pdf': makePdf([['Refund policy', 'Refunds reach your card within 14 days.'], ['退款政策', '七天内可以无理由退货，运费由商家承担。']], { title: 'Customer handbook' }),
  '安装指南.docx': makeDocx([{ heading: '安装指南' }, { paragraph: '运行 npm install 安装依赖，然后执行 warbler serve。' }, { heading: 'Ports', level: 2 }, { table: [['Service', 'Port'], ['HTTP', '8080']] }]),
  'prices.xlsx': makeWorkbook({ Plans: [['Plan', '月费'], ['Starter', '¥99'], ['Team', '¥499 per month with priority support']] }, 'xlsx'),
  'legacy.xls': makeWorkbook({ Regions: [['Region', 'Warehouse'], ['华东', 'Shanghai Jiading warehouse']] }, 'biff8'),
  'contacts.csv': makeWorkbook({ Sheet1: [['Team', 'Email'], ['Billing', 'billing-desk@example.com']] }, 'csv'),
  'shipping.html': Buffer.from('<html><head><title>Shipping</title></head><body><nav>Home | Shop</nav><article><h1>Shipping times</h1><p>Parcels to Europe arrive in three to five working days, tracked by the carrier from our Rotterdam hub.</p><ul><li>Express: next day</li><li>标准: 三天</li></ul></article></body></html>'),
  'roadmap.pptx': makePptx([{ title: 'Roadmap 2027', bullets: ['Offline voice notes', '  离线语音消息'] }, { title: 'Pricing', bullets: ['Enterprise seats discounted'] }]),
});

describe.each(storeKinds())('knowledge ingestion on %s', (kind) => {
  let server: TestServer;
  let kbId: string;

  beforeAll(async () => {
    server = await startServer(kind);
    kbId = (await server.api('POST', '/api/knowledge-bases', { name: 'Everything' })).body.id;
  });
  afterAll(() => server?.stop());

  it('queues a file of every format, parses each in the background, and cites its page, sheet rows or slide', async () => {
    const jobs: Record<string, any> = {};
    for (const [name, data] of Object.entries(FILES())) {
      const res = await upload(server, kbId, name, data);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ status: 'queued', filename: name, progress: 0 });
      jobs[name] = res.body;
    }
    for (const [name, job] of Object.entries(jobs)) {
      const done = await settled(server, kbId, job.id);
      expect(done, name).toMatchObject({ status: 'ready', progress: 100, reason: null });
    }
    const list = await server.api('GET', `/api/knowledge-bases/${kbId}/uploads`);
    expect(list.body.uploads).toHaveLength(7);
    const docs = await server.api('GET', `/api/knowledge-bases/${kbId}/documents`);
    expect(docs.body.documents.map((d: { title: string }) => d.title).sort()).toEqual(['Customer handbook', 'Roadmap 2027', 'Shipping', 'contacts', 'legacy', 'prices', '安装指南'].sort());

    const top = async (query: string) => (await server.api('POST', `/api/knowledge-bases/${kbId}/search`, { query, k: 1 })).body.passages[0];
    expect(await top('无理由退货 运费')).toMatchObject({ title: 'Customer handbook', heading_path: ['Page 2'] });
    expect(await top('refunds card 14 days')).toMatchObject({ heading_path: ['Page 1'] });
    expect(await top('Team priority support')).toMatchObject({ title: 'prices', heading_path: ['Sheet Plans', 'Rows 2–3'] });
    expect((await top('Team priority support')).text).toContain('| Plan | 月费 |');
    expect(await top('Jiading warehouse')).toMatchObject({ title: 'legacy', heading_path: ['Sheet Regions', 'Row 2'] });
    expect(await top('billing-desk')).toMatchObject({ title: 'contacts' });
    expect(await top('HTTP port')).toMatchObject({ title: '安装指南', heading_path: ['安装指南', 'Ports'] });
    expect((await top('HTTP port')).text).toContain('| HTTP | 8080 |');
    expect(await top('Rotterdam hub')).toMatchObject({ title: 'Shipping', heading_path: ['Shipping times'] });
    expect(await top('离线语音消息')).toMatchObject({ title: 'Roadmap 2027', heading_path: ['Slide 1: Roadmap 2027'] });
  }, 240_000);

  it('a scanned PDF, a truncated PDF and a zip bomb fail with a reason; a retry runs again and fails the same way', async () => {
    const scanned = await upload(server, kbId, 'scan.pdf', makePdf([[], []]));
    const truncated = await upload(server, kbId, 'cut.pdf', makePdf([['Hello there']]).subarray(0, 60));
    const bomb = await upload(server, kbId, 'bomb.docx', await makeZipBomb(8));
    expect((await settled(server, kbId, scanned.body.id)).reason).toMatch(/^No text found: this PDF holds only images/);
    expect((await settled(server, kbId, truncated.body.id)).reason).toMatch(/damaged or cut short|No text found/);
    const bombed = await settled(server, kbId, bomb.body.id);
    expect(bombed.status).toBe('failed');
    expect(bombed.reason).toMatch(/damaged|Word document|memory/);

    const retried = await server.api('POST', `/api/knowledge-bases/${kbId}/uploads/${scanned.body.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.status).toMatch(/queued|processing/);
    expect(await settled(server, kbId, scanned.body.id)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^No text found/) });
    // Only a failed upload can be retried; the documents of failed uploads never appear.
    const again = await server.api('POST', `/api/knowledge-bases/${kbId}/uploads/${(await server.api('GET', `/api/knowledge-bases/${kbId}/uploads`)).body.uploads.find((u: any) => u.status === 'ready').id}/retry`);
    expect(again.status).toBe(409);
    const docs = await server.api('GET', `/api/knowledge-bases/${kbId}/documents`);
    expect(docs.body.documents.some((d: { source: string }) => ['scan.pdf', 'cut.pdf', 'bomb.docx'].includes(d.source))).toBe(false);
  }, 120_000);

  it('refuses what it cannot read at the door, changing nothing', async () => {
    const exe = await upload(server, kbId, 'tool.exe', Buffer.from('MZ....'));
    expect(exe.status).toBe(415);
    expect(exe.body.error.message).toMatch(/Markdown|\.md/);
    const empty = await upload(server, kbId, 'empty.pdf', new Uint8Array(0));
    expect(empty.status).toBe(400);
    const missing = await upload(server, 'no-such-kb', 'a.pdf', makePdf([['x']]));
    expect(missing.status).toBe(404);
  });

  it('settings: a new chunk size re-indexes every document; bad settings change nothing', async () => {
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Chunky' })).body.id;
    const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} explains a different detail of the warranty terms.`).join(' ');
    const doc = await server.api('POST', `/api/knowledge-bases/${kb}/documents`, { title: 'Warranty', text });
    expect(doc.status).toBe(201);
    const before = doc.body.chunk_count;
    expect((await server.api('GET', `/api/knowledge-bases/${kb}/settings`)).body).toEqual({ chunk_tokens: 300, overlap_tokens: 40, top_k: 5, citation_style: 'numbered' });
    const bad = await server.api('PUT', `/api/knowledge-bases/${kb}/settings`, { chunk_tokens: 100, overlap_tokens: 90, top_k: 5, citation_style: 'numbered' });
    expect(bad.status).toBe(400);
    const put = await server.api('PUT', `/api/knowledge-bases/${kb}/settings`, { chunk_tokens: 100, overlap_tokens: 10, top_k: 8, citation_style: 'none' });
    expect(put.body).toEqual({ settings: { chunk_tokens: 100, overlap_tokens: 10, top_k: 8, citation_style: 'none' }, reindexed: 1 });
    const after = (await server.api('GET', `/api/knowledge-bases/${kb}/documents`)).body.documents[0].chunk_count;
    expect(after).toBeGreaterThan(before * 2);
    // Only top-k changed: nothing to re-index.
    const topk = await server.api('PUT', `/api/knowledge-bases/${kb}/settings`, { chunk_tokens: 100, overlap_tokens: 10, top_k: 3, citation_style: 'none' });
    expect(topk.body.reindexed).toBe(0);
  });
});

describe.each(storeKinds())('a restart in the middle of ingesting loses nothing, on %s', (kind) => {
  it('uploads queued, and one left processing by a crash, are all ready after the next start', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'warbler-ingest-restart-'));
    const db = kind === 'postgres' ? await createTestDatabase() : undefined;
    const config = loadConfig({
      WARBLER_PORT: '0', WARBLER_HOST: '127.0.0.1', WARBLER_DATA_DIR: dataDir, WARBLER_MASTER_KEY: 'ingest-restart-master-key-1', WARBLER_LOG_LEVEL: 'silent',
      ...(db ? { WARBLER_DATABASE_URL: db.url } : {}),
    });
    try {
      // The first run takes uploads but never gets to process them (it is not listening, so its queue never starts).
      const first = await buildWarbler(config);
      const secret = await first.apps.rotateSecret('default');
      const kb = await first.knowledge.create('default', { name: 'Restart' });
      const ids: string[] = [];
      for (const [name, data] of [['a.pdf', makePdf([['Alpha pages survive restarts.']])], ['b.pptx', makePptx([{ title: '重启', bullets: ['重启之后文档不会丢失'] }])]] as const) {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(data)]), name);
        const req = new Request('http://x/', { method: 'POST', body: form });
        const res = await first.http.inject({ method: 'POST', url: `/api/knowledge-bases/${kb.id}/documents`, headers: { authorization: `Bearer ${secret}`, 'content-type': req.headers.get('content-type')! }, payload: Buffer.from(await req.arrayBuffer()) });
        expect(res.statusCode, res.body).toBe(202);
        ids.push(res.json().id);
      }
      // The crash: the first upload was being processed (a lease far in the future) when the process died.
      await first.store.roomTables().updateTable('kb_ingest_jobs').set({ status: 'processing', progress: 10, lease_until: Date.now() + 3_600_000 }).where('id', '=', ids[0]).execute();
      await first.close();

      const second = await buildWarbler(config);
      try {
        const url = await second.listen();
        const secret2 = await second.apps.rotateSecret('default');
        const api = async (p: string, body?: unknown) => {
          const res = await fetch(url + p, { method: body ? 'POST' : 'GET', headers: { authorization: `Bearer ${secret2}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
          return res.json() as Promise<any>;
        };
        for (const id of ids) {
          const until = Date.now() + 90_000;
          let job: any;
          do {
            await sleep(100);
            job = await api(`/api/knowledge-bases/${kb.id}/uploads/${id}`);
          } while (job.status !== 'ready' && job.status !== 'failed' && Date.now() < until);
          expect(job).toMatchObject({ status: 'ready', progress: 100 });
        }
        expect((await api(`/api/knowledge-bases/${kb.id}/search`, { query: 'Alpha pages survive' })).passages[0]).toMatchObject({ heading_path: ['Page 1'] });
        expect((await api(`/api/knowledge-bases/${kb.id}/search`, { query: '文档不会丢失' })).passages[0]).toMatchObject({ heading_path: ['Slide 1: 重启'] });
      } finally {
        await second.close();
      }
    } finally {
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe.each(storeKinds())('importing a web page on %s', (kind) => {
  let server: TestServer;
  let site: Server;
  let siteUrl: string;
  let configPath: string;
  let body = '';

  beforeAll(async () => {
    site = createServer((req, res) => {
      if (req.url === '/gone') return void res.writeHead(404).end('no');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    configPath = path.join(tmpdir(), `warbler-kb-import-${kind}-${process.pid}.yaml`);
    // The test site is on loopback, which imports (like agent tools) may only reach when the operator allows it.
    await writeFile(configPath, 'version: 1\noutbound: { allow_hosts: ["127.0.0.1"], allow_http_hosts: ["127.0.0.1"] }\n');
    server = await startServer(kind, { WARBLER_CONFIG: configPath });
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => site?.close(resolve));
    await rm(configPath, { force: true });
  });

  it('fetches the page under the outbound policy, parses it in the queue, and replaces it when imported again', async () => {
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Site' })).body.id;
    body = '<html><head><title>Returns</title></head><body><nav>Home</nav><article><h1>Returns</h1><p>Unworn shoes can be returned within sixty days for a full refund, postage paid by us.</p></article></body></html>';
    const first = await server.api('POST', `/api/knowledge-bases/${kb}/imports`, { url: `${siteUrl}/help/returns` });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(await settled(server, kb, first.body.id)).toMatchObject({ status: 'ready', source: `${siteUrl}/help/returns` });
    expect((await server.api('POST', `/api/knowledge-bases/${kb}/search`, { query: 'unworn shoes sixty days' })).body.passages[0]).toMatchObject({ title: 'Returns', source: `${siteUrl}/help/returns` });

    body = body.replace('sixty days', 'ninety days');
    const again = await server.api('POST', `/api/knowledge-bases/${kb}/imports`, { url: `${siteUrl}/help/returns` });
    expect(again.body.id).toBe(first.body.id);
    await settled(server, kb, again.body.id);
    const docs = (await server.api('GET', `/api/knowledge-bases/${kb}/documents`)).body.documents;
    expect(docs).toHaveLength(1);
    expect((await server.api('GET', `/api/knowledge-bases/${kb}/documents/${docs[0].id}`)).body.text).toContain('ninety days');
  });

  it('refuses a private address, a page that is not found and a non-web scheme, changing nothing', async () => {
    const kb = (await server.api('POST', '/api/knowledge-bases', { name: 'Refusals' })).body.id;
    const metadata = await server.api('POST', `/api/knowledge-bases/${kb}/imports`, { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(metadata.status).toBe(400);
    expect(metadata.body.error.message).toMatch(/address|allowed|private|link-local|refused/i);
    const gone = await server.api('POST', `/api/knowledge-bases/${kb}/imports`, { url: `${siteUrl}/gone` });
    expect(gone.status).toBe(400);
    expect(gone.body.error.message).toMatch(/HTTP 404/);
    expect((await server.api('POST', `/api/knowledge-bases/${kb}/imports`, { url: 'file:///etc/passwd' })).status).toBe(400);
    expect((await server.api('GET', `/api/knowledge-bases/${kb}/uploads`)).body.uploads).toEqual([]);
  });
});
