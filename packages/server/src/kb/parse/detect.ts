import { extname } from 'node:path';
import type { SourceFormat } from './types.ts';

const BY_EXTENSION: Record<string, SourceFormat> = {
  '.md': 'markdown', '.markdown': 'markdown', '.txt': 'text', '.text': 'text',
  '.pdf': 'pdf', '.docx': 'docx', '.xlsx': 'xlsx', '.xls': 'xls', '.csv': 'csv',
  '.html': 'html', '.htm': 'html', '.pptx': 'pptx',
};

const BY_MIME: Record<string, SourceFormat> = {
  'text/markdown': 'markdown', 'text/x-markdown': 'markdown', 'text/plain': 'text',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-excel': 'xls',
  'text/csv': 'csv',
  'text/html': 'html',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

export const ACCEPTED_EXTENSIONS = Object.keys(BY_EXTENSION);
export const ACCEPTED_MIME = Object.keys(BY_MIME);

/** The format of a file from its extension, else its MIME type; undefined when Warbler cannot read it. */
export function detectFormat(filename: string, mime = ''): SourceFormat | undefined {
  const byName = BY_EXTENSION[extname(filename).toLowerCase()];
  if (byName) return byName;
  return BY_MIME[mime.toLowerCase().split(';')[0]!.trim()];
}

/** Formats whose bytes are a binary container, parsed off the event loop. */
export function isBinaryFormat(format: SourceFormat): boolean {
  return format !== 'markdown' && format !== 'text';
}
