import { createHash, randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { KnowledgeSettings } from '@warbler/protocol';
import { badRequest, notFound, WarblerError } from '../../errors.ts';
import { defaultParseLimits, detectFormat, isBinaryFormat, parseBounded, ParseFailure, type ParseBudget, type ParsedDocument, type ParseLimits, type ScannedPage } from '../parse/index.ts';
import type { KnowledgeBases } from '../service.ts';
import type { IngestJob, IngestStore } from './ingest-store.ts';
import { PollLoop } from '../poll-loop.ts';
import { changesChunks, chunkOptionsOf, readSettings } from './settings.ts';

export interface IngestionOptions {
  store: IngestStore;
  knowledge: KnowledgeBases;
  limits?: Partial<ParseLimits>;
  budget?: ParseBudget;
  /** How long a node holds a job it processes before another may take it; 5 min by default. */
  leaseMs?: number;
  /** How often the queue is looked at when nothing woke it; 2 s by default. */
  pollMs?: number;
  /** One node alone on its database: jobs its last run left processing are taken back at start, without waiting out their lease. */
  singleNode?: boolean;
  /** Attempts before a job that failed for no reason of its file is marked failed; 3 by default. */
  maxAttempts?: number;
  now?: () => number;
  onError?: (err: unknown, where: string) => void;
  /** Fetches a web page under the outbound room's address policy (the SSRF rules of agent tools); without it, URL imports are refused. */
  fetchPage?: FetchPage;
  /** Reads scanned pages (a PDF with no text layer) with a vision model; without it such a PDF fails with "no text found". */
  ocr?: PageReader;
}

/** OCR as the queue needs it: one scanned page in, its text as Markdown out (the call is priced in the ledger by the reader). */
export interface PageReader {
  /** Pages of one scan read at most; a longer scan fails with a reason. */
  maxPages: number;
  read(appId: string, kbId: string, scan: ScannedPage): Promise<string>;
}

/** A GET under the outbound address policy; `headers` of the answer carry its validators (etag, last-modified) and type. */
export type FetchPage = (url: string, init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal; maxBytes: number }) =>
  Promise<{ status: number; text: string; url: string; headers?: Record<string, string> }>;

/** The document id of a web page in a knowledge base: the same for a one-page import and a site crawl, so either replaces the other's copy. */
export function webDocumentId(appId: string, kbId: string, url: string): string {
  return `doc_${createHash('sha256').update(`${appId}\u0000${kbId}\u0000${url}`).digest('base64url').slice(0, 22)}`;
}

export interface IngestUpload {
  filename: string;
  mime: string;
  data: Uint8Array;
  title?: string;
  source?: string;
}

/**
 * The ingestion pipeline: an upload of a PDF, Word, spreadsheet, slide or web
 * file is a row in the database (status queued, the file kept with it), parsed
 * in the background in a bounded worker, then added as a Markdown document
 * under the same id. A restart loses nothing: queued rows wait, and rows left
 * processing are taken again.
 */
export class KnowledgeIngestion {
  readonly limits: ParseLimits;
  private readonly now: () => number;
  private readonly loop: PollLoop;

  constructor(private readonly options: IngestionOptions) {
    this.limits = { ...defaultParseLimits, ...options.limits, maxOcrPages: options.ocr ? (options.limits?.maxOcrPages ?? options.ocr.maxPages) : 0 };
    this.now = options.now ?? Date.now;
    this.loop = new PollLoop((force) => this.runOnce(force), options.pollMs ?? 2_000);
  }

  // ---- uploads ----

  /** Queues an upload of a format parsed in the background; Markdown and text go straight to the knowledge base instead. */
  async enqueue(appId: string, kbId: string, upload: IngestUpload, id?: string): Promise<IngestJob> {
    const format = detectFormat(upload.filename, upload.mime);
    // A web page in Markdown is queued too: imports all go through the queue.
    if (!format || (!isBinaryFormat(format) && id === undefined)) {
      throw new WarblerError('unsupported_media_type', `${upload.filename || 'This file'} is not a format a knowledge base takes. Upload PDF, Word (.docx), Excel (.xlsx, .xls), CSV, HTML, PowerPoint (.pptx), Markdown or text.`);
    }
    if (upload.data.byteLength === 0) throw badRequest('The file is empty.');
    if (upload.data.byteLength > this.limits.maxFileBytes) {
      throw new WarblerError('payload_too_large', `Files are at most ${Math.round(this.limits.maxFileBytes / 1024 / 1024)} MiB; split larger ones.`);
    }
    await this.options.knowledge.get(appId, kbId);
    const now = this.now();
    const filename = cleanName(upload.filename) || `upload.${format}`;
    const row = {
      app_id: appId, id: id ?? `doc_${randomBytes(16).toString('base64url')}`, kb_id: kbId, filename,
      source: (upload.source?.trim() || filename).slice(0, 1000), title: upload.title?.trim().slice(0, 300) || null,
      format, status: 'queued' as const, reason: null, progress: 0, attempts: 0, bytes: upload.data.byteLength,
      data: Buffer.from(upload.data).toString('base64'), lease_until: null, created_at: now, updated_at: now,
    };
    await this.options.store.insert(row);
    this.kick();
    const { data: _data, lease_until: _lease, ...job } = row;
    return job;
  }

  /**
   * Imports one web page: fetched now (under the outbound address policy, 20 s,
   * at most the file size limit), then queued and parsed like an uploaded HTML
   * file. Importing the same URL again replaces its document.
   */
  async importUrl(appId: string, kbId: string, address: string): Promise<IngestJob> {
    const fetchPage = this.options.fetchPage;
    if (!fetchPage) throw new WarblerError('unavailable', 'Web imports are not available on this server.');
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw badRequest('Give a full web address, like https://example.com/help/shipping.');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest('Only http and https pages can be imported.');
    await this.options.knowledge.get(appId, kbId);
    let page: { status: number; text: string; url: string };
    try {
      page = await fetchPage(url.href, {
        method: 'GET', headers: { accept: 'text/html, text/markdown;q=0.9, text/plain;q=0.8', 'user-agent': 'Warbler knowledge import' },
        signal: AbortSignal.timeout(20_000), maxBytes: this.limits.maxFileBytes,
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'OutboundRefused') throw badRequest(err.message);
      throw badRequest(`${url.host} could not be reached (${err instanceof Error && err.name === 'TimeoutError' ? 'no answer in 20 s' : 'connection failed'}). Check the address and try again.`);
    }
    if (page.status < 200 || page.status > 299) throw badRequest(`${url.href} answered HTTP ${page.status}; import a page that opens in a browser.`);
    if (!page.text.trim()) throw badRequest(`${url.href} is empty.`);
    return this.queuePage(appId, kbId, page);
  }

  /**
   * Queues a fetched web page as a document, replacing an earlier copy of the same address (a one-page import and
   * a site crawl share it). HTML is read as HTML; Markdown and plain text as they are.
   */
  async queuePage(appId: string, kbId: string, page: { url: string; text: string; headers?: Record<string, string> }): Promise<IngestJob> {
    const url = new URL(page.url);
    const id = webDocumentId(appId, kbId, page.url);
    const existing = await this.options.store.get(appId, id);
    if (existing?.status === 'processing') throw new WarblerError('conflict', 'This page is being imported right now; wait until it is ready.');
    if (existing) await this.options.store.delete(appId, id);
    const name = `${url.host}${url.pathname === '/' ? '' : url.pathname}`.slice(0, 300);
    const type = page.headers?.['content-type']?.split(';')[0]?.trim().toLowerCase();
    const markdown = /\.(md|markdown)$/i.test(url.pathname) || type === 'text/markdown';
    const plain = !markdown && type === 'text/plain';
    const as = markdown ? { filename: /\.(md|markdown)$/i.test(name) ? name : `${name}.md`, mime: 'text/markdown' }
      : plain ? { filename: `${name}.txt`, mime: 'text/plain' } : { filename: `${name}.html`, mime: 'text/html' };
    return this.enqueue(appId, kbId, { ...as, data: new TextEncoder().encode(page.text), source: page.url }, id);
  }

  /** A web page that is gone: its document and its upload row go (an upload being processed is left to finish, then removed next time). */
  async forgetPage(appId: string, kbId: string, url: string): Promise<void> {
    const id = webDocumentId(appId, kbId, url);
    const job = await this.options.store.get(appId, id);
    if (job?.status !== 'processing') await this.options.store.delete(appId, id);
    await this.options.knowledge.deleteDocument(appId, kbId, id).catch((err: unknown) => {
      if (!(err instanceof WarblerError && err.code === 'not_found')) throw err;
    });
  }

  async list(appId: string, kbId: string): Promise<IngestJob[]> {
    await this.options.knowledge.get(appId, kbId);
    return this.options.store.list(appId, kbId);
  }

  async get(appId: string, kbId: string, id: string): Promise<IngestJob> {
    const job = await this.options.store.get(appId, id);
    if (!job || job.kb_id !== kbId) throw notFound('The upload');
    return job;
  }

  /** Puts a failed upload back in the queue (after the operator fixed what its reason said, e.g. raised a limit). */
  async retry(appId: string, kbId: string, id: string): Promise<IngestJob> {
    const job = await this.get(appId, kbId, id);
    if (job.status !== 'failed') throw new WarblerError('conflict', `This upload is ${job.status}; only a failed upload can be retried.`);
    if (!(await this.options.store.requeue(appId, id, this.now()))) throw new WarblerError('conflict', 'This upload cannot be retried: its file is no longer kept. Upload it again.');
    this.kick();
    return this.get(appId, kbId, id);
  }

  /** Forgets an upload that is not being processed (its document, if ready, stays). */
  async remove(appId: string, kbId: string, id: string): Promise<void> {
    const job = await this.get(appId, kbId, id);
    if (job.status === 'processing') throw new WarblerError('conflict', 'This upload is being processed; wait until it is ready or failed.');
    await this.options.store.delete(appId, id);
  }

  // ---- settings ----

  async settings(appId: string, kbId: string): Promise<KnowledgeSettings> {
    await this.options.knowledge.get(appId, kbId);
    return readSettings(await this.options.store.getSettings(appId, kbId));
  }

  /** Saves the settings; when chunk size or overlap changed, every document is chunked and indexed again. */
  async putSettings(appId: string, kbId: string, next: KnowledgeSettings): Promise<{ settings: KnowledgeSettings; reindexed: number }> {
    const before = await this.settings(appId, kbId);
    await this.options.store.putSettings(appId, kbId, JSON.stringify(next), this.now());
    let reindexed = 0;
    if (changesChunks(before, next)) {
      for (const doc of await this.options.knowledge.listDocuments(appId, kbId)) {
        const full = await this.options.knowledge.getDocument(appId, kbId, doc.id).catch(() => undefined);
        if (!full) continue;
        await this.options.knowledge.addDocument(appId, kbId, { id: full.id, title: full.title, source: full.source, text: full.text, format: full.format });
        reindexed++;
      }
    }
    return { settings: next, reindexed };
  }

  /** For KnowledgeBases.useChunkOptions: the chunking a knowledge base's settings ask for. */
  readonly chunkOptions = async (appId: string, kbId: string) => {
    const stored = await this.options.store.getSettings(appId, kbId);
    return stored ? chunkOptionsOf(readSettings(stored)) : undefined;
  };

  // ---- the worker loop ----

  async start(): Promise<void> {
    if (this.options.singleNode) await this.options.store.releaseProcessing(this.now());
    this.loop.start();
  }

  /** Stops taking jobs and waits for the one in hand; a job cut off here is taken again at the next start. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Looks at the queue now (an upload just arrived). */
  kick(): void {
    this.loop.kick();
  }

  /** Processes what is waiting until the queue is empty; resolves when it is. For tests and tools. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async runOnce(force: boolean): Promise<void> {
    try {
      for (;;) {
        const waiting = await this.options.store.waiting(this.now(), 10);
        if (!waiting.length) return;
        for (const { app_id, id } of waiting) {
          if (this.loop.stopped && !force) return;
          await this.process(app_id, id);
        }
      }
    } catch (err) {
      this.options.onError?.(err, 'knowledge ingestion');
    }
  }

  private async process(appId: string, id: string): Promise<void> {
    const { store, knowledge } = this.options;
    const job = await store.claim(appId, id, this.now(), this.options.leaseMs ?? 5 * 60_000);
    if (!job) return;
    const step = (progress: number) => store.update(appId, id, { progress, updated_at: this.now() });
    try {
      if (!job.data) throw new ParseFailure('The uploaded file is no longer kept. Upload it again.');
      await step(10);
      const parsed = await parseBounded(Buffer.from(job.data, 'base64'), job.format, this.limits, this.options.budget);
      await step(60);
      const markdown = parsed.scans?.length ? await this.readScans(appId, job.kb_id, parsed, step) : parsed.markdown;
      const title = job.title ?? parsed.title ?? basename(job.filename).replace(/\.[^.]+$/, '');
      await knowledge.addDocument(appId, job.kb_id, { id: job.id, title, source: job.source, text: markdown, format: 'markdown' });
      // Ready: the document holds the text now; the file is not kept.
      await store.update(appId, id, { status: 'ready', progress: 100, reason: null, data: null, lease_until: null, title, updated_at: this.now() });
    } catch (err) {
      await this.failed(job.app_id, job.id, job.attempts + 1, err);
    }
  }

  /**
   * A scan, page by page through the vision model, into the same "Page N"
   * sections a PDF with text gets, so citations point at the page; pages
   * that had text keep it, and all go in page order. The model's own
   * headings are pushed below the page's. A failed call is not the file's
   * fault: the job is retried like any other transient failure.
   */
  private async readScans(appId: string, kbId: string, parsed: ParsedDocument, step: (progress: number) => Promise<unknown>): Promise<string> {
    const ocr = this.options.ocr;
    const scans = parsed.scans ?? [];
    if (!ocr) throw new ParseFailure('No text found: this PDF holds only images (a scan?), and OCR is off.');
    const pages = new Map((parsed.typedPages ?? []).map((t) => [t.page, t.markdown]));
    let read = 0;
    for (const [i, scan] of scans.entries()) {
      const text = (await ocr.read(appId, kbId, scan)).replace(/\r\n?/g, '\n').replace(/^#{1,6}(?=\s)/gm, '###').trim();
      if (text) {
        pages.set(scan.page, `## Page ${scan.page}\n\n${text}`);
        read += 1;
      }
      await step(60 + Math.round((30 * (i + 1)) / scans.length));
    }
    if (!pages.size) throw new ParseFailure('OCR found no text on any page of this scan. Check that the pages are legible, or upload the document it was made from.');
    const markdown = [...pages.entries()].sort(([a], [b]) => a - b).map(([, section]) => section).join('\n\n');
    if (read > 0 && markdown.length > this.limits.maxChars) throw new ParseFailure('OCR read more text than a document may hold; split the scan into smaller files.');
    return markdown;
  }

  private async failed(appId: string, id: string, attempts: number, err: unknown): Promise<void> {
    const { store } = this.options;
    // The file's own fault (or a refusal of the knowledge base) will not change on a retry: failed at once, with the reason.
    const final = err instanceof ParseFailure || err instanceof WarblerError || attempts >= (this.options.maxAttempts ?? 3);
    if (!(err instanceof ParseFailure) && !(err instanceof WarblerError)) this.options.onError?.(err, `knowledge ingestion of ${id}`);
    const reason = err instanceof ParseFailure || err instanceof WarblerError
      ? err.message
      : `Processing failed ${attempts} times (${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}). Retry later; if it persists, check the server log.`;
    await store.update(appId, id, final
      ? { status: 'failed', reason, attempts, lease_until: null, updated_at: this.now() }
      : { status: 'queued', attempts, progress: 0, lease_until: null, updated_at: this.now() }).catch((e: unknown) => this.options.onError?.(e, 'knowledge ingestion'));
  }
}

function cleanName(name: string): string {
  return basename(name.replaceAll('\\', '/')).replace(/[\u0000-\u001f]/g, '_').trim().slice(0, 300);
}
