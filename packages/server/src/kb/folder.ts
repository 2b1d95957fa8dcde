import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { formatOf } from './chunk.ts';
import { firstHeading, stripFrontMatter } from './markdown.ts';
import type { KbDocument } from './types.ts';

export interface FolderImportOptions {
  appId: string;
  kbId: string;
  /**
   * Mints a document id from the file's source path. The default hashes app,
   * knowledge base and path, so importing the same folder again replaces each
   * document instead of adding a copy.
   */
  documentId?: (source: string) => string;
  /** Larger files are skipped; 5 MiB by default. */
  maxBytes?: number;
  /** Paths (relative, with /) left out of the import, as if absent: pruning then removes them too. */
  exclude?: (source: string) => boolean;
}

export interface FolderImport {
  documents: KbDocument[];
  /** Files with a supported extension that could not be imported, and why. */
  skipped: { source: string; reason: string }[];
}

const EXTENSIONS = new Set(['.md', '.markdown', '.txt']);

/**
 * Reads every Markdown and text file under `dir`, sorted by path. Hidden
 * entries, node_modules and symbolic links are not followed: an import should
 * take the documents someone sees, and a link cycle must not hang it.
 */
export async function importFolder(dir: string, options: FolderImportOptions): Promise<FolderImport> {
  const { appId, kbId, maxBytes = 5 * 1024 * 1024 } = options;
  const documentId = options.documentId ?? ((source: string) => defaultDocumentId(appId, kbId, source));
  const result: FolderImport = { documents: [], skipped: [] };
  for (const path of await walk(dir)) {
    const source = relative(dir, path).split(sep).join('/');
    if (options.exclude?.(source)) continue;
    const { size } = await stat(path);
    if (size > maxBytes) {
      result.skipped.push({ source, reason: `larger than ${maxBytes} bytes` });
      continue;
    }
    const text = decodeText(await readFile(path));
    if (text === undefined) {
      result.skipped.push({ source, reason: 'not UTF-8 text' });
      continue;
    }
    result.documents.push({
      id: documentId(source),
      app_id: appId,
      kb_id: kbId,
      title: documentTitle(source, text),
      source,
      text,
      format: formatOf(source),
    });
  }
  return result;
}

/** Front matter title, else the first top heading, else the file name. */
export function documentTitle(source: string, text: string): string {
  const fileTitle = basename(source, extname(source));
  if (formatOf(source) === 'text') return fileTitle;
  const { body, title } = stripFrontMatter(text);
  return title ?? firstHeading(body) ?? fileTitle;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() && EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(path);
  }
  return files;
}

function decodeText(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\u0000') ? undefined : text.replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
}

function defaultDocumentId(appId: string, kbId: string, source: string): string {
  const hash = createHash('sha256').update(`${appId}\u0000${kbId}\u0000${source}`).digest('base64url');
  return `doc_${hash.slice(0, 22)}`;
}
