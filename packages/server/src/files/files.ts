import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StoredFile } from '@warbler/protocol';
import type { Actor, Conversations } from '../chat/index.ts';
import { badRequest, forbidden, notFound, WarblerError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/index.ts';

/** MIME types accepted for upload; anything else is refused with 415. */
export const ACCEPTED_MIME = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp',
  'application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'application/json', 'application/zip',
  'audio/mpeg', 'audio/ogg', 'audio/wav', 'video/mp4', 'video/webm',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);

export interface Upload {
  conversationId: string;
  /** Required for app-level uploads; with a user token, the user. */
  uploaderId?: string;
  name: string;
  mime: string;
  data: Readable;
  /** Set by the multipart parser when the stream hit the size limit. */
  truncated: () => boolean;
}

/**
 * Files attached to messages. Each belongs to one conversation, is stored
 * under the data dir by app, and is served only to that conversation's members.
 */
export class Files {
  constructor(
    private readonly store: Store,
    private readonly conversations: Conversations,
    private readonly dir: string,
    readonly maxBytes: number,
  ) {}

  async upload(actor: Actor, upload: Upload): Promise<StoredFile> {
    const uploader = actor.userId ?? upload.uploaderId;
    if (!uploader) throw badRequest('Name the uploader in the sender_id field: app-level uploads act for one of your users.');
    if (actor.userId && upload.uploaderId && upload.uploaderId !== actor.userId) throw forbidden('You can only upload as yourself.');
    const mime = upload.mime.toLowerCase().split(';')[0]!.trim();
    if (!ACCEPTED_MIME.has(mime)) {
      upload.data.resume();
      throw new WarblerError('unsupported_media_type', `Files of type ${mime || 'unknown'} are not accepted. Accepted: images (png, jpeg, gif, webp), pdf, text, office documents, zip, audio and video.`);
    }
    await this.conversations.requireMember(actor.appId, upload.conversationId, uploader);
    const id = newId('fil');
    const folder = path.join(this.dir, safeSegment(actor.appId));
    await mkdir(folder, { recursive: true });
    const target = path.join(folder, id);
    try {
      await pipeline(upload.data, createWriteStream(target, { flags: 'wx' }));
      if (upload.truncated()) throw new WarblerError('payload_too_large', `Files are at most ${Math.floor(this.maxBytes / 1024 / 1024)} MiB.`);
      const { size } = await stat(target);
      if (size === 0) throw badRequest('The file is empty.');
      const file: StoredFile = {
        id, app_id: actor.appId, conversation_id: upload.conversationId, uploader_id: uploader,
        name: cleanName(upload.name), mime, size, created_at: Date.now(),
      };
      await this.store.createFile({ ...file, path: path.relative(this.dir, target) });
      return file;
    } catch (err) {
      // Nothing half-written stays behind when an upload fails.
      await rm(target, { force: true });
      throw err;
    }
  }

  /** An image as a data: URL for a vision model (the model cannot reach this server); undefined when too big or not an image. */
  async dataUrl(appId: string, fileId: string, maxBytes: number): Promise<string | undefined> {
    const row = await this.store.getFile(appId, fileId);
    if (!row || !row.mime.startsWith('image/') || row.size > maxBytes) return undefined;
    const bytes = await readFile(path.join(this.dir, row.path));
    return `data:${row.mime};base64,${bytes.toString('base64')}`;
  }

  async open(actor: Actor, fileId: string): Promise<{ file: StoredFile; stream: Readable }> {
    const row = await this.store.getFile(actor.appId, fileId);
    if (!row) throw notFound('The file');
    if (actor.userId) await this.conversations.requireMember(actor.appId, row.conversation_id, actor.userId);
    const { path: relative, ...file } = row;
    return { file, stream: createReadStream(path.join(this.dir, relative)) };
  }
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function cleanName(name: string): string {
  const base = path.basename(name || 'file').replace(/[\u0000-\u001f"\\/]/g, '_').trim();
  return (base || 'file').slice(0, 255);
}
