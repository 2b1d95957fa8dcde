// Uploaded files on disk, encrypted as a stream of AES-256-GCM chunks, so a
// 20 MiB upload never sits in memory whole and a download can start at once.
//
// Layout: a 24-byte header, then chunks of up to CHUNK_BYTES plaintext, each
// followed by its 16-byte tag.
//   header = "WRBLEF" ‖ format 1 ‖ 0 ‖ key version (u32) ‖ chunk size (u32) ‖ nonce prefix (7 bytes) ‖ 0
//   nonce of chunk i = nonce prefix ‖ i (u32) ‖ 1 if it is the last chunk else 0
// This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015):
// chunks cannot be reordered (the counter), dropped from the end (the last
// flag), or moved to another file (the header, with its random prefix, and the
// file's app and id are the additional data of every chunk).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

const MAGIC = Buffer.from('WRBLEF\x01\x00', 'latin1');
export const FILE_HEADER_BYTES = 24;
const TAG_BYTES = 16;
export const CHUNK_BYTES = 64 * 1024;

export type KeyLookup = (version: number) => Buffer | undefined;

/** The key version an encrypted file's header names; undefined for a plaintext file (from before encryption). */
export function fileHeaderVersion(head: Buffer): number | undefined {
  if (head.length < FILE_HEADER_BYTES || !head.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  return head.readUInt32BE(8);
}

/** Reads just the header of a file on disk. */
export async function fileVersionOnDisk(path: string): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(FILE_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, FILE_HEADER_BYTES, 0);
    return fileHeaderVersion(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

function aad(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from(context, 'utf8')]);
}

/** Plaintext in, encrypted file bytes out. Counts the plaintext bytes it saw (`plaintextBytes`). */
export class EncryptingStream extends Transform {
  plaintextBytes = 0;
  private readonly header: Buffer;
  private readonly prefix = randomBytes(7);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(
    private readonly key: Buffer,
    version: number,
    private readonly context: string,
  ) {
    super();
    this.header = Buffer.alloc(FILE_HEADER_BYTES);
    MAGIC.copy(this.header, 0);
    this.header.writeUInt32BE(version, 8);
    this.header.writeUInt32BE(CHUNK_BYTES, 12);
    this.prefix.copy(this.header, 16);
    this.push(this.header);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.plaintextBytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // A chunk is sealed only once more data follows it: the last one must carry the last flag.
    while (this.pendingBytes > CHUNK_BYTES) {
      const all = Buffer.concat(this.pending);
      this.push(this.sealChunk(all.subarray(0, CHUNK_BYTES), false));
      this.pending = [all.subarray(CHUNK_BYTES)];
      this.pendingBytes = all.length - CHUNK_BYTES;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.push(this.sealChunk(Buffer.concat(this.pending), true));
    this.pending = [];
    done();
  }

  private sealChunk(plain: Buffer, last: boolean): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.prefix, this.index++, last), { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.header, this.context));
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }
}

/**
 * Encrypted file bytes in, plaintext out; a file without the header (stored
 * before encryption was on) passes through unchanged. Fails the stream when a
 * chunk was altered, reordered, cut off or taken from another file.
 */
export class DecryptingStream extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private mode: 'header' | 'plain' | 'sealed' = 'header';
  private header: Buffer = Buffer.alloc(0);
  private key: Buffer | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;
  private sealedChunk = CHUNK_BYTES + TAG_BYTES;

  constructor(
    private readonly keys: KeyLookup,
    private readonly context: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.mode === 'header') {
        this.head.push(chunk);
        this.headBytes += chunk.length;
        if (this.headBytes < FILE_HEADER_BYTES) return done();
        this.startWith(Buffer.concat(this.head));
        this.head = [];
        return done();
      }
      this.feed(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.mode === 'header') {
        // Shorter than a header: a small plaintext file from before encryption.
        if (this.headBytes > 0) this.push(Buffer.concat(this.head));
        return done();
      }
      if (this.mode === 'sealed') this.push(this.openChunk(Buffer.concat(this.pending), true));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private startWith(bytes: Buffer): void {
    const version = fileHeaderVersion(bytes);
    if (version === undefined) {
      this.mode = 'plain';
      this.push(bytes);
      return;
    }
    this.key = this.keys(version);
    if (!this.key) throw new Error(`This file was encrypted with data key version ${version}, which this app does not have.`);
    this.header = bytes.subarray(0, FILE_HEADER_BYTES);
    this.sealedChunk = this.header.readUInt32BE(12) + TAG_BYTES;
    this.mode = 'sealed';
    this.feed(bytes.subarray(FILE_HEADER_BYTES));
  }

  private feed(chunk: Buffer): void {
    if (this.mode === 'plain') {
      this.push(chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes > this.sealedChunk) {
      const all = Buffer.concat(this.pending);
      this.push(this.openChunk(all.subarray(0, this.sealedChunk), false));
      this.pending = [all.subarray(this.sealedChunk)];
      this.pendingBytes = all.length - this.sealedChunk;
    }
  }

  private openChunk(sealed: Buffer, last: boolean): Buffer {
    if (sealed.length < TAG_BYTES) throw new Error('The encrypted file is cut off.');
    const decipher = createDecipheriv('aes-256-gcm', this.key!, nonce(this.header.subarray(16, 23), this.index++, last), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(this.header, this.context));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error('The encrypted file failed its integrity check: altered, cut off, or taken from another file.');
    }
  }
}
