import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipe, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import type { StoredFile } from '@warbler/protocol';
import type { Actor, Conversations } from '../chat/index.ts';
import { badRequest, forbidden, notFound, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/index.ts';
import type { FileLinks, SignedFileUrl } from './file-links.ts';
import { ACCEPTED_MIME, claimedMime, sniffMimeOf } from './media-type.ts';
import { Turns } from '../turns.ts';

/** How long an upload over its user's cap waits for one of their uploads to end: long, as a phone's upload takes a while. */
const UPLOAD_TURN_WAIT_MS = 30_000;

export interface Upload {
  conversationId: string;
  /** Required for app-level uploads; with a user token, the user. */
  uploaderId?: string;
  name: string;
  /** The Content-Type the client gave; checked, then replaced by what the bytes are. */
  mime: string;
  data: Readable;
  /** Set by the multipart parser when the stream hit the size limit. */
  truncated: () => boolean;
}

/**
 * How bytes go to disk and come back (encryption at rest: the at-rest room).
 * seal() wraps an upload on its way in and counts its plaintext bytes; open()
 * turns a stored file (`file`, its path) back into what was uploaded.
 */
export interface FileSealing {
  seal(appId: string, fileId: string): Promise<{ stream: Transform; bytes(): number }>;
  open(appId: string, fileId: string, file: string): Promise<Transform>;
}

/** An upload whose bytes are on disk but not yet recorded: commit() or discard() it. */
export interface StagedUpload {
  file: StoredFile;
  target: string;
}

/**
 * Files attached to messages. Each belongs to one conversation, is stored
 * under the data dir by app (owner-only), and is served only to that
 * conversation's members, or through a short-lived link minted for one.
 */
export class Files {
  /** Uploads each user has running: one user uploading as fast as it can must not take the server from everyone else. */
  private readonly turns: Turns;

  constructor(
    private readonly store: Store,
    private readonly conversations: Conversations,
    private readonly dir: string,
    readonly maxBytes: number,
    private readonly links: FileLinks,
    readonly uploadsPerUser = 3,
    private readonly sealing: FileSealing = plainFileSealing,
  ) {
    this.turns = new Turns(uploadsPerUser, UPLOAD_TURN_WAIT_MS);
  }

  /**
   * Waits for one of the user's upload turns (their body is not read
   * meanwhile: TCP holds the client back), and returns what gives it back.
   * App-level uploads (the app's own backend, for many users) are not
   * capped. Refuses with rate_limited when no turn came in time.
   */
  async uploadTurn(actor: Actor, signal?: AbortSignal): Promise<() => void> {
    if (!actor.userId) return () => {};
    const holder = `${actor.appId}\u0000${actor.userId}`;
    if (!(await this.turns.enter(holder, signal))) {
      throw new WarblerError(
        'rate_limited',
        `You have ${this.uploadsPerUser} uploads running and this one waited ${UPLOAD_TURN_WAIT_MS / 1000} s for a turn. ` +
          'Send it again once the others have finished (the operator can raise WARBLER_MAX_UPLOADS_PER_USER).',
      );
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.turns.leave(holder);
    };
  }

  async upload(actor: Actor, upload: Upload): Promise<StoredFile> {
    return this.commit(await this.stage(actor, upload));
  }

  /** Checks who uploads what, writes the bytes and learns their real type; nothing is recorded yet. */
  async stage(actor: Actor, upload: Upload): Promise<StagedUpload> {
    const uploader = actor.userId ?? upload.uploaderId;
    if (!uploader) throw badRequest('Name the uploader in the sender_id field: app-level uploads act for one of your users.');
    if (actor.userId && upload.uploaderId && upload.uploaderId !== actor.userId) throw forbidden('You can only upload as yourself.');
    const claimed = claimedMime(upload.mime);
    if (!ACCEPTED_MIME.has(claimed)) {
      upload.data.resume();
      throw new WarblerError('unsupported_media_type', `Files of type ${claimed || 'unknown'} are not accepted. Accepted: images (png, jpeg, gif, webp), pdf, text, office documents, zip, audio and video.`);
    }
    await this.conversations.requireMember(actor.appId, upload.conversationId, uploader);
    const id = newId('fil');
    const folder = path.join(this.dir, safeSegment(actor.appId));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const target = path.join(folder, id);
    try {
      // Sealed as it streams to disk: the plaintext is never written, and never held whole in memory.
      const sealed = await this.sealing.seal(actor.appId, id);
      await pipeline(upload.data, sealed.stream, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      if (upload.truncated()) throw this.tooLarge();
      const size = sealed.bytes();
      if (size === 0) throw badRequest('The file is empty.');
      const mime = await sniffMimeOf(await this.plaintext(actor.appId, id, target), claimed);
      const file: StoredFile = {
        id, app_id: actor.appId, conversation_id: upload.conversationId, uploader_id: uploader,
        name: cleanName(upload.name), mime, size, created_at: Date.now(),
      };
      return { file, target };
    } catch (err) {
      // Nothing half-written stays behind when an upload fails.
      await rm(target, { force: true });
      throw err;
    }
  }

  async commit(staged: StagedUpload): Promise<StoredFile> {
    try {
      await this.store.createFile({ ...staged.file, path: path.relative(this.dir, staged.target) });
      return staged.file;
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  async discard(staged: StagedUpload): Promise<void> {
    await rm(staged.target, { force: true });
  }

  tooLarge(): WarblerError {
    return new WarblerError('payload_too_large', `Files are at most ${Math.floor(this.maxBytes / 1024 / 1024)} MiB.`);
  }

  /** An image as a data: URL for a vision model (the model cannot reach this server); undefined when too big or not an image. */
  async dataUrl(appId: string, fileId: string, maxBytes: number): Promise<string | undefined> {
    const row = await this.store.getFile(appId, fileId);
    if (!row || !row.mime.startsWith('image/') || row.size > maxBytes) return undefined;
    const bytes = await buffer(await this.plaintext(appId, fileId, path.join(this.dir, row.path)));
    return `data:${row.mime};base64,${bytes.toString('base64')}`;
  }

  /** A download link for one file, for someone who may read it. */
  async link(actor: Actor, fileId: string): Promise<SignedFileUrl> {
    await this.readable(actor, fileId);
    return this.links.mint(actor.appId, fileId);
  }

  async open(actor: Actor, fileId: string): Promise<{ file: StoredFile; stream: Readable }> {
    return this.read(await this.readable(actor, fileId));
  }

  /** Opens a file by a link from link(): the link is the permission, so no token is needed. */
  async openLinked(link: { appId: string; fileId: string; exp: string; sig: string }): Promise<{ file: StoredFile; stream: Readable }> {
    const check = this.links.check(link.appId, link.fileId, link.exp, link.sig);
    if (check === 'expired') throw forbidden('This file link has expired. Ask for a fresh one: GET /api/files/:id/url with your token in the Authorization header.');
    if (check !== 'ok') throw forbidden('This file link is not valid for this file. Ask for one: GET /api/files/:id/url with your token in the Authorization header.');
    const row = await this.store.getFile(link.appId, link.fileId);
    if (!row) throw notFound('The file');
    return this.read(row);
  }

  private async readable(actor: Actor, fileId: string): Promise<StoredFile & { path: string }> {
    const row = await this.store.getFile(actor.appId, fileId);
    if (!row) throw notFound('The file');
    if (actor.userId) await this.conversations.requireMember(actor.appId, row.conversation_id, actor.userId);
    return row;
  }

  private async read(row: StoredFile & { path: string }): Promise<{ file: StoredFile; stream: Readable }> {
    const { path: relative, ...file } = row;
    return { file, stream: await this.plaintext(row.app_id, row.id, path.join(this.dir, relative)) };
  }

  /** A stored file's bytes as uploaded; a read or integrity error fails the stream. */
  private async plaintext(appId: string, fileId: string, file: string): Promise<Readable> {
    return pipe(createReadStream(file), await this.sealing.open(appId, fileId, file), () => {});
  }
}

/** Encryption at rest off: bytes go to disk as they came. */
export const plainFileSealing: FileSealing = {
  async seal() {
    let n = 0;
    const stream = new Transform({
      transform(chunk: Buffer, _enc, done) {
        n += chunk.length;
        done(null, chunk);
      },
    });
    return { stream, bytes: () => n };
  },
  open: async () => new Transform({ transform: (chunk, _enc, done) => done(null, chunk) }),
};

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function cleanName(name: string): string {
  const base = path.basename(name || 'file').replace(/[\u0000-\u001f"\\/]/g, '_').trim();
  return (base || 'file').slice(0, 255);
}
