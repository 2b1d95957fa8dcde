import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
