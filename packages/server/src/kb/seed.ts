import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the built-in assistant may quote: the user-facing guide pages, not the
 * decision records or benchmark logs written for Warbler's developers (a
 * question about PostgreSQL should find the guide, not a group-commit study).
 */
export function isDeveloperRecord(source: string): boolean {
  return source.startsWith('decisions/') || source === 'benchmarks.md' || /(^|\/)benchmarks?\//.test(source);
}

/**
 * The repository's docs folder, the demo agent's knowledge base. Found by
 * walking up from this file rather than from the working directory, so
 * `warbler serve` started anywhere seeds the same docs; undefined when the
 * server runs without its repository (an install that ships no docs).
 */
export function seedDocsDir(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const docs = join(dir, 'docs');
    if (existsSync(join(docs, 'protocol.md'))) return docs;
    if (dirname(dir) === dir) return undefined;
  }
}
