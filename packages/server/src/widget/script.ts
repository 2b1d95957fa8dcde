import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where `npm run build:widget` writes the bundle. */
export function defaultWidgetDist(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../widget/dist');
}

export interface WidgetScript {
  version: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  /** Subresource integrity of the exact version's URL: `sha384-…`. */
  integrity: string;
}

/** The built widget, read once it exists (a build after the server started is picked up on the next request). */
export class WidgetScripts {
  private loaded: WidgetScript | undefined;

  constructor(private readonly distDir: string) {}

  async current(): Promise<WidgetScript | undefined> {
    if (this.loaded) return this.loaded;
    const body = await readFile(path.join(this.distDir, 'widget.js')).catch(() => undefined);
    if (!body) return undefined;
    const meta = JSON.parse(await readFile(path.join(this.distDir, 'widget.json'), 'utf8').catch(() => '{}')) as { version?: string };
    this.loaded = {
      version: meta.version ?? '0.0.0',
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    };
    return this.loaded;
  }
}
