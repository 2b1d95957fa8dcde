import { randomBytes } from 'node:crypto';
import { basename, extname } from 'node:path';
import { badRequest, notFound, WarblerError } from '../errors.ts';
import { KeyedSerial } from '../chat/serial.ts';
import type { AiStore, KbChunkRow, KbDocumentRow, KnowledgeBaseRow } from '../store/index.ts';
import { chunkDocumentInSlices, type ChunkOptions } from './chunk.ts';
import { decodeText } from './decode-text.ts';
import { importFolder as readFolder } from './folder.ts';
import { InMemoryKnowledgeIndex } from './knowledge-index.ts';
import { firstHeading, stripFrontMatter } from './markdown.ts';
import { HybridRetrieval, type ModelSettings, type Retrieval, type RetrievalCaller } from './retrieval/index.ts';
import type { Chunk, Passage } from './types.ts';

/** What the knowledge room keeps in the Store. */
export type KnowledgeStore = Pick<
  AiStore,
  | 'putKnowledgeBase'
  | 'getKnowledgeBase'
  | 'listKnowledgeBases'
  | 'deleteKnowledgeBase'
  | 'putDocument'
  | 'listDocuments'
  | 'getDocument'
  | 'deleteDocument'
  | 'listChunks'
  | 'scanChunks'
>;

export type KnowledgeBase = KnowledgeBaseRow;
/** A document without its text, as lists show it. */
export type KbDocumentInfo = Omit<KbDocumentRow, 'text'>;
export type DocumentFormat = KbDocumentRow['format'];

export interface KnowledgeBaseInput {
  /** Minted when absent; give one to seed a knowledge base under a known id. */
  id?: string;
  name: string;
  description?: string;
}

export interface DocumentInput {
  title?: string;
  /** A file name or path the document came from; shown in citations. */
  source?: string;
  text: string;
  /** From the source's extension when absent (.txt is text), else Markdown. */
  format?: DocumentFormat;
}

export interface DocumentUpload {
  filename: string;
  mime: string;
  data: Uint8Array;
  title?: string;
  /** The file name when absent. */
  source?: string;
  format?: DocumentFormat;
}

export interface FolderImportResult {
  added: KbDocumentInfo[];
  updated: KbDocumentInfo[];
  unchanged: number;
  /** Documents deleted because their file is gone (with `prune`). */
  removed: number;
  skipped: { source: string; reason: string }[];
}

export interface KnowledgeBasesOptions {
  /** Largest document, in bytes of UTF-8 text (of the file, for uploads); 5 MiB by default. */
  maxDocumentBytes?: number;
  chunk?: ChunkOptions;
  /** Most passages one search returns; 20 by default. */
  maxResults?: number;
  now?: () => number;
  /** Chunks per Store page when loading the index; 1000 by default. */
  scanPageSize?: number;
  /**
   * A knowledge base or document changed here: other nodes bring their
   * in-memory index up to date (reloadDocument, forgetKnowledgeBase).
   */
  onChange?: (change: KnowledgeChange) => void;
  /** Vectors, fusion and rerank for knowledge bases that name an embedding model; BM25 alone without it. */
  retrieval?: HybridRetrieval;
  /** The models the Router serves: an embedding model must be one of them. */
  servedModels?: () => readonly string[];
  /** A failure that must not fail the caller (an embedding provider down while indexing). */
  onError?: (err: unknown, what: string) => void;
}

export type KnowledgeChange = { app_id: string; kb_id: string; document_id?: string };

export const DEFAULT_MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
export const ACCEPTED_DOCUMENT_EXTENSIONS = ['.md', '.markdown', '.txt'] as const;
export const ACCEPTED_DOCUMENT_MIME = ['text/markdown', 'text/x-markdown', 'text/plain'] as const;

const KB_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_TITLE = 300;
const MAX_SOURCE = 1000;

/**
 * Knowledge bases of each app: documents in, chunks persisted in the Store,
 * passages out of an in-memory BM25 index built from the Store at start.
 * The Store is the truth; the index follows each change once the Store has it.
 */
export class KnowledgeBases {
  readonly maxDocumentBytes: number;
  private readonly index = new InMemoryKnowledgeIndex();
  /** Per knowledge base: a document's Store write and its index update must not interleave with another change to the same base. */
  private readonly serial = new KeyedSerial();
  private readonly now: () => number;
  /** Chunk size and overlap of one knowledge base (its settings); the options' chunk when absent. */
  private chunkOptionsOf: (appId: string, kbId: string) => Promise<ChunkOptions | undefined> = async () => undefined;

  constructor(
    private readonly store: KnowledgeStore,
    private readonly options: KnowledgeBasesOptions = {},
  ) {
    this.maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
    this.now = options.now ?? Date.now;
  }

  /** Per-knowledge-base chunking (kb/ingest settings); set once by the composition root. */
  useChunkOptions(of: (appId: string, kbId: string) => Promise<ChunkOptions | undefined>): void {
    this.chunkOptionsOf = of;
  }

  /** Rebuilds the index from every stored chunk; run once at start, before serving. */
  async load(): Promise<{ documents: number; chunks: number }> {
    const pageSize = this.options.scanPageSize ?? 1000;
    const byDocument = new Map<string, Chunk[]>();
    let after: string | undefined;
    let chunks = 0;
    for (;;) {
      const page = await this.store.scanChunks(after === undefined ? { limit: pageSize } : { after, limit: pageSize });
      for (const row of page) {
        const key = `${row.app_id}\u0000${row.document_id}`;
        const list = byDocument.get(key);
        if (list) list.push(row);
        else byDocument.set(key, [row]);
      }
      chunks += page.length;
      const last = page.at(-1)?.id;
      // A short page is the last; an id that does not move on would loop forever.
      if (page.length < pageSize || last === undefined || last === after) break;
      after = last;
    }
    for (const list of byDocument.values()) {
      list.sort((a, b) => a.ordinal - b.ordinal);
      await this.index.putDocumentInSlices(list[0]!.app_id, list[0]!.document_id, list);
    }
    await this.options.retrieval?.loadSettings();
    for (const list of byDocument.values()) await this.embed(list[0]!.app_id, list[0]!.kb_id, list);
    return { documents: byDocument.size, chunks };
  }

  // ---- knowledge bases ----

  async create(appId: string, input: KnowledgeBaseInput): Promise<KnowledgeBase> {
    const id = input.id ?? mintId('kb');
    if (!KB_ID.test(id)) throw badRequest('A knowledge base id is 1-64 letters, digits or _ . : -');
    const name = requireName(input.name);
    return this.serial.run(kbKey(appId, id), async () => {
      // The Store's put replaces; two creates with one id must not both succeed.
      if (await this.store.getKnowledgeBase(appId, id)) {
        throw new WarblerError('conflict', `A knowledge base with id ${id} already exists in this app.`);
      }
      const now = this.now();
      const kb: KnowledgeBase = { app_id: appId, id, name, description: input.description?.trim() ?? '', created_at: now, updated_at: now };
      await this.store.putKnowledgeBase(kb);
      return kb;
    });
  }

  /** The knowledge base with this id, created when missing (seeding at start). */
  async ensure(appId: string, input: KnowledgeBaseInput & { id: string }): Promise<KnowledgeBase> {
    return (await this.store.getKnowledgeBase(appId, input.id)) ?? this.create(appId, input);
  }

  list(appId: string): Promise<KnowledgeBase[]> {
    return this.store.listKnowledgeBases(appId);
  }

  async get(appId: string, kbId: string): Promise<KnowledgeBase> {
    const kb = await this.store.getKnowledgeBase(appId, kbId);
    if (!kb) throw notFound('The knowledge base');
    return kb;
  }

  /** Deletes the knowledge base with all its documents. */
  async delete(appId: string, kbId: string): Promise<void> {
    await this.serial.run(kbKey(appId, kbId), async () => {
      if (!(await this.store.deleteKnowledgeBase(appId, kbId))) throw notFound('The knowledge base');
      this.index.removeKnowledgeBase(appId, kbId);
      await this.options.retrieval?.forgetKnowledgeBase(appId, kbId);
    });
    this.options.onChange?.({ app_id: appId, kb_id: kbId });
  }

  /** Another node changed the index: a deleted knowledge base (no document id), or one document as stored now. */
  async reload(change: KnowledgeChange): Promise<void> {
    const { app_id: appId, kb_id: kbId, document_id: documentId } = change;
    await this.serial.run(kbKey(appId, kbId), async () => {
      if (documentId === undefined) {
        this.options.retrieval?.vectors.removeKnowledgeBase(appId, kbId);
        return this.index.removeKnowledgeBase(appId, kbId);
      }
      this.options.retrieval?.vectors.removeDocument(appId, kbId, documentId);
      const doc = await this.store.getDocument(appId, documentId);
      if (!doc || doc.kb_id !== kbId) return this.index.removeDocument(appId, documentId);
      const chunks = (await this.store.listChunks(appId, documentId)).sort((a, b) => a.ordinal - b.ordinal);
      await this.index.putDocumentInSlices(appId, documentId, chunks);
      await this.embed(appId, kbId, chunks);
    });
  }

  // ---- documents ----

  /** Adds a document from text: chunks it, stores it with its chunks, and indexes them. */
  async addDocument(appId: string, kbId: string, input: DocumentInput & { id?: string }): Promise<KbDocumentInfo> {
    const bytes = Buffer.byteLength(input.text, 'utf8');
    if (bytes > this.maxDocumentBytes) throw documentTooLarge(this.maxDocumentBytes);
    const text = input.text.replace(/^\uFEFF/, '');
    if (!text.trim()) throw badRequest('The document is empty: send some Markdown or text.');
    if (text.includes('\u0000')) throw badRequest('The document contains NUL characters: send Markdown or plain text.');
    const source = (input.source ?? '').trim();
    if (source.length > MAX_SOURCE) throw badRequest(`A document source is at most ${MAX_SOURCE} characters.`);
    const format = input.format ?? formatOfName(source) ?? 'markdown';
    const title = (input.title?.trim() || documentTitle(source, text, format)).slice(0, MAX_TITLE);
    const id = input.id ?? mintId('doc');
    return this.serial.run(kbKey(appId, kbId), async () => {
      await this.get(appId, kbId);
      const existing = input.id ? await this.store.getDocument(appId, id) : undefined;
      if (existing && existing.kb_id !== kbId) {
        throw new WarblerError('conflict', `Document ${id} belongs to another knowledge base of this app.`);
      }
      const chunkOptions = (await this.chunkOptionsOf(appId, kbId)) ?? this.options.chunk;
      const chunks = await chunkDocumentInSlices({ id, app_id: appId, kb_id: kbId, title, source, text, format }, chunkOptions);
      if (!chunks.length) throw badRequest('The document has no text to index: it holds only headings, front matter or blank lines.');
      const now = this.now();
      const row: KbDocumentRow = {
        app_id: appId, kb_id: kbId, id, title, source, format, text, bytes,
        chunk_count: chunks.length, created_at: existing?.created_at ?? now, updated_at: now,
      };
      await this.store.putDocument(row, chunks.map(toRow));
      await this.index.putDocumentInSlices(appId, id, chunks);
      this.options.retrieval?.vectors.removeDocument(appId, kbId, id);
      await this.embed(appId, kbId, chunks);
      this.options.onChange?.({ app_id: appId, kb_id: kbId, document_id: id });
      return info(row);
    });
  }

  /** Adds an uploaded Markdown or text file; other types are refused with 415. */
  async uploadDocument(appId: string, kbId: string, upload: DocumentUpload): Promise<KbDocumentInfo> {
    // Checked even when the caller names a format: it says how to read text, not that a PDF is text.
    const detected = uploadFormat(upload.filename, upload.mime);
    const format = upload.format ?? detected;
    if (upload.data.byteLength > this.maxDocumentBytes) throw documentTooLarge(this.maxDocumentBytes);
    if (upload.data.byteLength === 0) throw badRequest('The file is empty.');
    const text = decodeText(upload.data);
    if (text === undefined) {
      throw new WarblerError('unsupported_media_type', `${upload.filename || 'The file'} is not UTF-8 (or UTF-16) text. Save it as UTF-8 Markdown or plain text.`);
    }
    return this.addDocument(appId, kbId, { text, format, source: upload.source?.trim() || cleanFileName(upload.filename), ...(upload.title ? { title: upload.title } : {}) });
  }

  async listDocuments(appId: string, kbId: string): Promise<KbDocumentInfo[]> {
    await this.get(appId, kbId);
    return (await this.store.listDocuments(appId, kbId)).map(info);
  }

  /** The document with its full text. */
  async getDocument(appId: string, kbId: string, documentId: string): Promise<KbDocumentRow> {
    const doc = await this.store.getDocument(appId, documentId);
    if (!doc || doc.kb_id !== kbId) throw notFound('The document');
    return doc;
  }

  async listChunks(appId: string, kbId: string, documentId: string): Promise<KbChunkRow[]> {
    await this.getDocument(appId, kbId, documentId);
    return this.store.listChunks(appId, documentId);
  }

  async deleteDocument(appId: string, kbId: string, documentId: string): Promise<void> {
    await this.serial.run(kbKey(appId, kbId), async () => {
      await this.getDocument(appId, kbId, documentId);
      await this.store.deleteDocument(appId, documentId);
      this.index.removeDocument(appId, documentId);
      this.options.retrieval?.vectors.removeDocument(appId, kbId, documentId);
    });
    this.options.onChange?.({ app_id: appId, kb_id: kbId, document_id: documentId });
  }

  /**
   * Imports every Markdown and text file under `dir`. Ids come from the file
   * paths, so importing again updates documents in place; unchanged files are
   * not written again. With `prune`, documents of the knowledge base that are
   * not in the folder (any more) are deleted: for a knowledge base that mirrors
   * a folder, like the demo agent's docs.
   */
  async importFolder(appId: string, kbId: string, dir: string, options: { prune?: boolean; exclude?: (source: string) => boolean } = {}): Promise<FolderImportResult> {
    await this.get(appId, kbId);
    const folder = await readFolder(dir, { appId, kbId, maxBytes: this.maxDocumentBytes, ...(options.exclude && { exclude: options.exclude }) });
    const result: FolderImportResult = { added: [], updated: [], unchanged: 0, removed: 0, skipped: [...folder.skipped] };
    for (const doc of folder.documents) {
      const existing = await this.store.getDocument(appId, doc.id);
      const same = existing && (await this.unchangedChunks(existing, doc.title, doc.source, doc.text));
      if (same) {
        // Imported before load() (seeding at start): the Store has it, the index may not yet.
        if (!this.index.hasDocument(appId, doc.id)) await this.index.putDocumentInSlices(appId, doc.id, same);
        result.unchanged++;
        continue;
      }
      try {
        const added = await this.addDocument(appId, kbId, { id: doc.id, title: doc.title, source: doc.source, text: doc.text, ...(doc.format ? { format: doc.format } : {}) });
        (existing ? result.updated : result.added).push(added);
      } catch (err) {
        if (!(err instanceof WarblerError) || err.code === 'not_found') throw err;
        result.skipped.push({ source: doc.source, reason: err.message });
      }
    }
    if (options.prune) {
      const keep = new Set(folder.documents.map((d) => d.id));
      for (const doc of await this.store.listDocuments(appId, kbId)) {
        if (keep.has(doc.id)) continue;
        await this.deleteDocument(appId, kbId, doc.id);
        result.removed++;
      }
    }
    return result;
  }

  // ---- retrieval ----

  /** The best passages for `query` across the given knowledge bases of the app, best first. */
  async search(appId: string, kbIds: readonly string[], query: string, k = 5, caller: RetrievalCaller = {}): Promise<Passage[]> {
    return (await this.retrieve(appId, kbIds, query, k, caller)).passages;
  }

  /**
   * search() with each passage's score per retriever: the one pipeline agents
   * and the console's retrieval test share (decision 0018).
   */
  async retrieve(appId: string, kbIds: readonly string[], query: string, k = 5, caller: RetrievalCaller = {}): Promise<Retrieval> {
    const limit = Math.max(1, Math.min(Math.floor(k) || 5, this.options.maxResults ?? 20));
    if (!query.trim()) return { passages: [], retrievers: ['bm25'] };
    const bm25 = (n: number) => this.index.search(appId, query, { kbIds, limit: n, expand: true });
    const retrieval = this.options.retrieval;
    if (!retrieval) return { passages: bm25(limit).map((p) => ({ ...p, scores: { bm25: p.score } })), retrievers: ['bm25'] };
    return retrieval.retrieve(bm25, appId, kbIds, query, limit, caller);
  }

  /** The knowledge base's embedding and rerank models; null for none (BM25 only, the offline default). */
  async retrievalSettings(appId: string, kbId: string): Promise<ModelSettings & { embedded_chunks: number }> {
    await this.get(appId, kbId);
    const retrieval = this.options.retrieval;
    const settings = retrieval?.settingsOf(appId, kbId) ?? { embedding_model: null, rerank_model: null };
    const embedded = settings.embedding_model ? retrieval!.vectors.count(appId, kbId, settings.embedding_model) : 0;
    return { ...settings, embedded_chunks: embedded };
  }

  /**
   * Sets the models; a new embedding model embeds every chunk again (from the
   * cache where this model embedded the same text before). A provider failure
   * is the caller's error here: the operator is there to see it.
   */
  async setRetrievalSettings(appId: string, kbId: string, next: ModelSettings): Promise<ModelSettings & { embedded_chunks: number }> {
    const retrieval = this.options.retrieval;
    if (!retrieval) throw badRequest('Hybrid retrieval is not available on this server.');
    const served = this.options.servedModels?.() ?? [];
    if (next.embedding_model && !served.includes(next.embedding_model)) {
      throw badRequest(`${next.embedding_model} is not a model this server serves. Configure a provider that serves it (OPENAI_API_KEY for text-embedding-3-small, a Qwen key for text-embedding-v4, Ollama for bge-m3…); served now: ${served.join(', ') || 'none'}.`);
    }
    if (next.rerank_model && !retrieval.canRerank) {
      throw badRequest('No rerank endpoint is configured: set WARBLER_RERANK_BASE_URL (and WARBLER_RERANK_API_KEY) and restart, or leave rerank_model null.');
    }
    await this.serial.run(kbKey(appId, kbId), async () => {
      await this.get(appId, kbId);
      const before = retrieval.settingsOf(appId, kbId);
      await retrieval.saveSettings(appId, kbId, next);
      if (next.embedding_model !== before.embedding_model) retrieval.vectors.removeKnowledgeBase(appId, kbId);
      if (next.embedding_model) {
        try {
          await retrieval.embedChunks(appId, kbId, this.index.chunksOf(appId, kbId));
        } catch (err) {
          throw new WarblerError('unavailable', `The embedding model ${next.embedding_model} did not answer (${err instanceof Error ? err.message : String(err)}); the setting is saved, and searches use keywords until it does. Save again to retry.`);
        }
      }
    });
    // Not signalled to other nodes: a change without a document id means a deleted knowledge base there. They read the models at start.
    return this.retrievalSettings(appId, kbId);
  }

  /** Embeds chunks for hybrid search; a failing provider leaves them to BM25 and is reported, not thrown. */
  private async embed(appId: string, kbId: string, chunks: readonly Chunk[]): Promise<void> {
    try {
      await this.options.retrieval?.embedChunks(appId, kbId, chunks);
    } catch (err) {
      this.options.onError?.(err, `embedding ${chunks.length} chunks of knowledge base ${kbId}`);
    }
  }

  /**
   * The stored chunks when text, title and chunks are what they would be now
   * (the chunker may have changed since the document was stored): nothing to write.
   */
  private async unchangedChunks(existing: KbDocumentRow, title: string, source: string, text: string): Promise<Chunk[] | undefined> {
    if (existing.text !== text || existing.title !== title || existing.source !== source) return undefined;
    const stored = await this.store.listChunks(existing.app_id, existing.id);
    const fresh = await chunkDocumentInSlices({ ...existing }, (await this.chunkOptionsOf(existing.app_id, existing.kb_id)) ?? this.options.chunk);
    return stored.length === fresh.length && fresh.every((c, i) => sameChunk(c, stored[i]!)) ? stored : undefined;
  }
}

/** The Markdown or text format of an upload, from its extension, else its MIME type; refuses anything else. */
export function uploadFormat(filename: string, mime: string): DocumentFormat {
  const byName = formatOfName(filename);
  if (byName) return byName;
  const type = mime.toLowerCase().split(';')[0]!.trim();
  if (type === 'text/markdown' || type === 'text/x-markdown') return 'markdown';
  if (type === 'text/plain') return 'text';
  throw new WarblerError(
    'unsupported_media_type',
    `Only Markdown (.md, .markdown) and plain text (.txt) documents can be added; ${filename || 'this file'} is ${type || 'of unknown type'}. Convert it to Markdown or text first.`,
  );
}

function formatOfName(name: string): DocumentFormat | undefined {
  const ext = extname(name).toLowerCase();
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.txt') return 'text';
  return undefined;
}

/** Front matter title, first heading, file name, or first line, in that order. */
function documentTitle(source: string, text: string, format: DocumentFormat): string {
  const fileTitle = source ? basename(source, extname(source)) : '';
  if (format === 'markdown') {
    const { body, title } = stripFrontMatter(text);
    const heading = title ?? firstHeading(body);
    if (heading) return heading;
  }
  if (fileTitle) return fileTitle;
  const firstLine = stripFrontMatter(text).body.trim().split('\n', 1)[0]!.replace(/^#+\s*/, '').trim();
  return firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine || 'Untitled';
}

function requireName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw badRequest('Give the knowledge base a name.');
  return trimmed;
}

function cleanFileName(name: string): string {
  return basename(name.replaceAll('\\', '/')).replace(/[\u0000-\u001f]/g, '_').trim().slice(0, MAX_SOURCE);
}

export function documentTooLarge(max: number): WarblerError {
  return new WarblerError('payload_too_large', `Documents are at most ${byteSize(max)}; split larger ones into several documents.`);
}

/** "5 MiB", "64 KiB", "100 bytes": for messages people read. */
export function byteSize(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

function mintId(prefix: 'kb' | 'doc'): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

function kbKey(appId: string, kbId: string): string {
  return `${appId}\u0000${kbId}`;
}

function info({ text: _text, ...rest }: KbDocumentRow): KbDocumentInfo {
  return rest;
}

function toRow(chunk: Chunk): KbChunkRow {
  return { ...chunk, heading_path: [...chunk.heading_path] };
}

function sameChunk(a: Chunk, b: KbChunkRow): boolean {
  return a.id === b.id && a.text === b.text && a.title === b.title && a.source === b.source && a.heading_path.join('\u0000') === b.heading_path.join('\u0000');
}
