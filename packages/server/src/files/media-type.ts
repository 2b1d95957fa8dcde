import type { Readable } from 'node:stream';
import { fileTypeFromStream } from 'file-type';

/** MIME types accepted for upload; anything else is refused with 415. */
export const ACCEPTED_MIME = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp',
  'application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'application/json', 'application/zip',
  'audio/mpeg', 'audio/ogg', 'audio/wav', 'video/mp4', 'video/webm',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);

/** The only types a browser is shown in place: raster images, which cannot run script. SVG, HTML and PDF never are. */
const INLINE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Text formats have no magic number; the client's word is all there is, and they are only ever downloaded. */
const TEXT = new Set(['text/plain', 'text/markdown', 'text/csv', 'application/json']);

export const UNKNOWN_MIME = 'application/octet-stream';

/** The client's Content-Type, lower-cased and without parameters. */
export function claimedMime(contentType: string): string {
  return contentType.toLowerCase().split(';')[0]!.trim();
}

/**
 * The type to store for an upload: what its bytes are, not what the client
 * said. Bytes of an accepted binary type keep that type; text claimed as text
 * stays text; anything else (an "image" that is HTML, an executable) becomes
 * application/octet-stream, which is never shown in place nor sent as an image.
 */
export async function sniffMimeOf(bytes: Readable, claimed: string): Promise<string> {
  const found = await fileTypeFromStream(bytes).finally(() => bytes.destroy());
  if (found) return ACCEPTED_MIME.has(found.mime) ? found.mime : UNKNOWN_MIME;
  return TEXT.has(claimed) ? claimed : UNKNOWN_MIME;
}

export function showsInline(mime: string): boolean {
  return INLINE.has(mime);
}
