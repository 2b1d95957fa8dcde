// Files of the /v1 Files API: batch inputs clients upload, and the output and
// error files batches write. Bytes live under <dataDir>/gateway-files/<app>/,
// sealed as they stream to disk (encryption at rest, like chat uploads: they
// hold customers' prompts and the answers), rows in the store; a row is
// created only once its bytes are in place.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipe, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { plainFileSealing, type FileSealing } from '../../files/index.ts';
import { StoreConflict, type GatewayFileRow, type GatewayStore } from '../../store/index.ts';
import type { GatewayCaller } from '../caller.ts';
import { invalidRequest, OpenAiError } from '../errors.ts';
import { readLines } from './lines.ts';
import { newFileId } from './wire.ts';

export type GatewayFileStore = Pick<GatewayStore, 'createGatewayFile' | 'getGatewayFile' | 'listGatewayFiles' | 'deleteGatewayFile'>;

/** The purposes a client may upload; the others (batch_output) are Warbler's own. */
export const UPLOAD_PURPOSES = new Set(['batch']);

/** Default size limit of an uploaded batch file. OpenAI allows 200 MB; a self-hosted server on a small disk wants less. */
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

/** An upload written to disk but not yet committed (its purpose may arrive after the bytes in a multipart body). */
export interface StagedFile {
  appId: string;
  id: string;
  path: string;
  bytes: number;
}

export interface GatewayFilesOptions {
  store: GatewayFileStore;
  /** The gateway-files folder under the data dir. */
  dir: string;
  maxBytes?: number;
  now?: () => number;
  /** Seals the bytes at rest (the at-rest room's file sealing); plaintext when encryption is off. */
  sealing?: FileSealing;
}

export class GatewayFiles {
  readonly maxBytes: number;
  private readonly store: GatewayFileStore;
  private readonly dir: string;
  private readonly now: () => number;
  private readonly sealing: FileSealing;

  constructor(options: GatewayFilesOptions) {
    this.store = options.store;
    this.sealing = options.sealing ?? plainFileSealing;
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.now = options.now ?? Date.now;
  }

  /** Writes an upload's bytes to their final place; `truncated` is the multipart parser's size-limit flag. */
  async stage(appId: string, data: Readable, truncated: () => boolean): Promise<StagedFile> {
    const id = newFileId();
    const target = await this.target(appId, id);
    try {
      const sealed = await this.sealing.seal(appId, id);
      await pipeline(data, sealed.stream, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      if (truncated()) throw this.tooLarge();
      // The size a client sees is what it uploaded, not the sealed size on disk.
      return { appId, id, path: target, bytes: sealed.bytes() };
    } catch (err) {
      await rm(target, { force: true });
      if (isSizeLimit(err)) throw this.tooLarge();
      throw err;
    }
  }

  /** Checks a staged upload and records it; on any failure its bytes are removed. */
  async commit(caller: GatewayCaller, staged: StagedFile, meta: { filename: string; purpose: string }): Promise<GatewayFileRow> {
    try {
      if (!UPLOAD_PURPOSES.has(meta.purpose)) {
        throw invalidRequest(`The purpose "${meta.purpose}" is not supported here; upload batch input files with purpose "batch".`, 'purpose');
      }
      if (staged.bytes === 0) throw invalidRequest('The file is empty; a batch input file has one JSON request per line.', 'file');
      await checkJsonl(await this.plaintext(staged.appId, staged.id, staged.path));
      const row: GatewayFileRow = {
        app_id: staged.appId,
        id: staged.id,
        purpose: meta.purpose,
        filename: cleanName(meta.filename),
        bytes: staged.bytes,
        path: path.relative(this.dir, staged.path),
        key_id: caller.key?.id ?? null,
        created_at: this.now(),
      };
      await this.store.createGatewayFile(row);
      return row;
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  async discard(staged: StagedFile): Promise<void> {
    await rm(staged.path, { force: true });
  }

  async get(appId: string, fileId: string): Promise<GatewayFileRow> {
    const row = await this.store.getGatewayFile(appId, fileId);
    if (!row) throw fileNotFound(fileId);
    return row;
  }

  find(appId: string, fileId: string): Promise<GatewayFileRow | undefined> {
    return this.store.getGatewayFile(appId, fileId);
  }

  /** Newest first; one more row than asked is read so the caller can tell whether there is another page. */
  async list(appId: string, page: { purpose?: string; limit: number; after?: string }): Promise<{ rows: GatewayFileRow[]; hasMore: boolean }> {
    const rows = await this.store.listGatewayFiles(appId, { ...page, limit: page.limit + 1 });
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  async open(appId: string, fileId: string): Promise<{ row: GatewayFileRow; stream: Readable }> {
    const row = await this.get(appId, fileId);
    return { row, stream: await this.readable(row) };
  }

  /** A stored file's bytes as they were uploaded or written; a read or integrity error fails the stream. */
  readable(row: GatewayFileRow): Promise<Readable> {
    return this.plaintext(row.app_id, row.id, this.pathOf(row));
  }

  private async plaintext(appId: string, fileId: string, file: string): Promise<Readable> {
    return pipe(createReadStream(file), await this.sealing.open(appId, fileId, file), () => {});
  }

  async delete(appId: string, fileId: string): Promise<void> {
    const row = await this.get(appId, fileId);
    if (!(await this.store.deleteGatewayFile(appId, fileId))) throw fileNotFound(fileId);
    await rm(this.pathOf(row), { force: true });
  }

  pathOf(row: GatewayFileRow): string {
    return path.join(this.dir, row.path);
  }

  /**
   * Writes a file Warbler produces (a batch's output or errors) under a known
   * id. Writing the same id again replaces the bytes and keeps the row, so a
   * finalization interrupted by a crash can simply run again.
   */
  async write(appId: string, file: { id: string; purpose: string; filename: string; lines: Iterable<string> }): Promise<GatewayFileRow> {
    const target = await this.target(appId, file.id);
    const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const sealed = await this.sealing.seal(appId, file.id);
    try {
      await pipeline(
        (function* () {
          for (const line of file.lines) yield `${line}\n`;
        })(),
        sealed.stream,
        createWriteStream(temp, { mode: 0o600 }),
      );
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    const size = sealed.bytes();
    const row: GatewayFileRow = {
      app_id: appId,
      id: file.id,
      purpose: file.purpose,
      filename: file.filename,
      bytes: size,
      path: path.relative(this.dir, target),
      key_id: null,
      created_at: this.now(),
    };
    try {
      await this.store.createGatewayFile(row);
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
      return (await this.store.getGatewayFile(appId, file.id)) ?? row;
    }
    return row;
  }

  private async target(appId: string, fileId: string): Promise<string> {
    const folder = path.join(this.dir, safeSegment(appId));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    return path.join(folder, fileId);
  }

  private tooLarge(): OpenAiError {
    return new OpenAiError(413, `Batch input files are at most ${Math.floor(this.maxBytes / 1024 / 1024)} MiB; split the requests into several batches.`, 'invalid_request_error', 'file_too_large', 'file');
  }
}

/** Every non-blank line must be a JSON object; the batch validates the rest when it starts. */
async function checkJsonl(file: Readable): Promise<void> {
  for await (const raw of readLines(file)) {
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch {
      throw invalidRequest(`Line ${raw.index + 1} of the file is not valid JSON; a batch input file (JSONL) has one JSON object per line.`, 'file', 'invalid_jsonl');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidRequest(`Line ${raw.index + 1} of the file is not a JSON object; a batch input file (JSONL) has one JSON object per line.`, 'file', 'invalid_jsonl');
    }
  }
}

const fileNotFound = (fileId: string) => new OpenAiError(404, `No file ${fileId} in this app.`, 'invalid_request_error', 'not_found');

function isSizeLimit(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'FST_REQ_FILE_TOO_LARGE';
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function cleanName(name: string): string {
  const base = path.basename(name || 'input.jsonl').replace(/[\u0000-\u001f"\\/]/g, '_').trim();
  return (base || 'input.jsonl').slice(0, 255);
}
