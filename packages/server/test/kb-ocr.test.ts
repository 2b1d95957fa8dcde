import { inflateSync } from 'node:zlib';
import { startUpstreamFixture, type UpstreamFixture } from '@warbler/upstream-fixture';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, storeKinds, type TestServer } from './harness.ts';
import { makeScannedPdf } from './kb-files.ts';
import { settled, upload } from './kb-uploads.ts';

/** The width and height a PNG data URL declares, and its first pixel row (after the filter byte). */
function pngOf(dataUrl: string) {
  const png = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  const width = png.readUInt32BE(16);
  const idat = png.indexOf('IDAT');
  const rows = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  return { width, height: png.readUInt32BE(20), firstPixel: [...rows.subarray(1, 4)] };
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
    const res = await upload(server, kbId, 'warranty-scan.pdf', makeScannedPdf(2), 'application/pdf');
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

  it('a typed document with a scanned page keeps its typed text and reads only the scanned page, in page order', async () => {
    upstream.script({ model: 'gpt-4o-mini', promptContains: 'Transcribe page 2', text: 'Signed delivery note: parcel 7731 received intact.' });
    const res = await upload(server, kbId, 'contract.pdf', makeScannedPdf(3, { typed: { 1: 'Delivery terms: we ship within two days.', 3: 'Appendix B: returns address.' } }));
    const job = await settled(server, kbId, res.body.id);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'ready' });
    const calls = upstream.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(1);
    const doc = await server.api('GET', `/api/knowledge-bases/${kbId}/documents/${res.body.id}`);
    expect(doc.body.text).toMatch(/## Page 1\n\nDelivery terms: we ship within two days\.\n\n## Page 2\n\nSigned delivery note: parcel 7731 received intact\.\n\n## Page 3\n\nAppendix B: returns address\./);
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
