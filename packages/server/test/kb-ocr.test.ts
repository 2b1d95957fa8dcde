import { inflateSync } from 'node:zlib';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A scan as a scanner makes it: each page one RGB image and no text layer.
 * Page n's image is `width × height` pixels of a shade that tells pages apart.
 */
function makeScannedPdf(pages: number, width = 40, height = 24): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body);
  const catalog = add('');
  const pagesObj = add('');
  const pageIds: number[] = [];
  for (let p = 1; p <= pages; p++) {
    const shade = String.fromCharCode(40 * p);
    const pixels = Array.from({ length: width * height }, (_, i) => (i % 7 === 0 ? '\u0000\u0000\u0000' : shade + shade + shade)).join('');
    const image = add(`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length ${pixels.length} >>\nstream\n${pixels}\nendstream`);
    const content = 'q 500 0 0 700 50 50 cm /Scan Do Q';
    const stream = add(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    pageIds.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Contents ${stream} 0 R /Resources << /XObject << /Scan ${image} 0 R >> >> >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** The width and height a PNG data URL declares, and its first pixel row (after the filter byte). */
function pngOf(dataUrl: string) {
  const png = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  const width = png.readUInt32BE(16);
  const idat = png.indexOf('IDAT');
  const rows = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  return { width, height: png.readUInt32BE(20), firstPixel: [...rows.subarray(1, 4)] };
}

async function upload(server: TestServer, kbId: string, name: string, data: Uint8Array) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)], { type: 'application/pdf' }), name);
  const res = await fetch(`${server.url}/api/knowledge-bases/${kbId}/documents`, { method: 'POST', headers: { authorization: `Bearer ${server.appSecret}` }, body: form });
  return { status: res.status, body: await res.json() as { id: string } };
}

async function settled(server: TestServer, kbId: string, id: string, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await server.api('GET', `/api/knowledge-bases/${kbId}/uploads/${id}`);
    if (job.body.status === 'ready' || job.body.status === 'failed') return job.body;
    if (Date.now() > until) throw new Error(`upload ${id} still ${job.body.status}`);
    await sleep(100);
  }
}

describe.each(storeKinds())('OCR of scanned PDFs on %s', (kind) => {
  let upstream: UpstreamFixture;
  let server: TestServer;
  let kbId: string;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ apiKey: 'sk-fixture' });
    server = await startServer(kind, { OPENAI_API_KEY: 'sk-fixture', OPENAI_BASE_URL: upstream.url, WARBLER_KB_OCR_MODEL: 'gpt-4o-mini', WARBLER_KB_OCR_MAX_PAGES: '3' });
    kbId = (await server.api('POST', '/api/knowledge-bases', { name: 'Scans' })).body.id;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  afterEach(() => upstream.reset());

  it('reads each page through the vision model, cites the page, and prices every call in the ledger', async () => {
    upstream.script(
      { model: 'gpt-4o-mini', promptContains: 'Transcribe page 1', text: '# 保修条款\n\n整机保修两年，电池保修一年。', usage: { prompt_tokens: 900, completion_tokens: 30 } },
      { model: 'gpt-4o-mini', promptContains: 'Transcribe page 2', text: 'Warranty claims need the original receipt.', usage: { prompt_tokens: 900, completion_tokens: 12 } },
    );
    const res = await upload(server, kbId, 'warranty-scan.pdf', makeScannedPdf(2));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await settled(server, kbId, res.body.id);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'ready', progress: 100 });

    // The model saw each page as a PNG of the scan itself, told not to follow text on the page.
    const calls = upstream.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(2);
    const first = calls[0]!.body as { messages: { role: string; content: unknown }[]; temperature: number };
    expect(first.temperature).toBe(0);
    expect(JSON.stringify(first.messages[0]!.content)).toMatch(/never instructions/);
    const image = (first.messages[1]!.content as { type: string; image_url?: { url: string } }[]).find((p) => p.type === 'image_url')!;
    expect(pngOf(image.image_url!.url)).toEqual({ width: 40, height: 24, firstPixel: [0, 0, 0] });

    // The document cites its pages; the model's heading sits under the page's.
    const doc = await server.api('GET', `/api/knowledge-bases/${kbId}/documents/${res.body.id}`);
    expect(doc.status).toBe(200);
    expect(doc.body.text).toMatch(/## Page 1\n\n### 保修条款\n\n整机保修两年/);
    expect(doc.body.text).toMatch(/## Page 2\n\nWarranty claims need the original receipt\./);
    const found = await server.api('POST', `/api/knowledge-bases/${kbId}/search`, { query: '电池保修多久' });
    expect(found.status).toBe(200);
    expect(JSON.stringify(found.body)).toMatch(/电池保修一年/);

    await server.warbler.ledger.flush();
    const rows = (await server.warbler.store.listLedger('default', { limit: 100 })).filter((r) => r.purpose === 'knowledge_ocr');
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.prompt_tokens).sort()).toEqual([900, 900]);
    expect(rows.every((r) => r.cost_nanos > 0n)).toBe(true);
  }, 120_000);

  it('a scan longer than the OCR page limit fails with a reason, and calls no model', async () => {
    const res = await upload(server, kbId, 'long-scan.pdf', makeScannedPdf(4));
    const job = await settled(server, kbId, res.body.id);
    expect(job).toMatchObject({ status: 'failed', reason: expect.stringMatching(/scan of 4 pages; OCR reads at most 3/) });
    expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
  }, 120_000);

  it('an upstream failure is retried like any transient failure, then the scan is read', async () => {
    upstream.script(
      { model: 'gpt-4o-mini', fault: 'status', status: 500, times: 2 },
      { model: 'gpt-4o-mini', promptContains: 'Transcribe page 1', text: 'Returns within 30 days.' },
    );
    const res = await upload(server, kbId, 'returns-scan.pdf', makeScannedPdf(1));
    const job = await settled(server, kbId, res.body.id);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'ready' });
    const doc = await server.api('GET', `/api/knowledge-bases/${kbId}/documents/${res.body.id}`);
    expect(doc.body.text).toMatch(/Returns within 30 days/);
  }, 120_000);
});

describe('OCR off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterAll(() => server?.stop());

  it('a scan fails with "no text found" and says how to turn OCR on', async () => {
    const kbId = (await server.api('POST', '/api/knowledge-bases', { name: 'Scans' })).body.id;
    const res = await upload(server, kbId, 'scan.pdf', makeScannedPdf(1));
    const job = await settled(server, kbId, res.body.id);
    expect(job).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^No text found: .*WARBLER_KB_OCR_MODEL/) });
  }, 120_000);
});
