import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.dirname(fileURLToPath(import.meta.url));

/** Source files of the chat app's entry chunk: everything but the console, which main.tsx loads lazily. */
function entryFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'console' ? [] : entryFiles(file);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

describe("the chat app's entry chunk", () => {
  // Importing one schema from the protocol keeps every schema and zod in the bundle (the protocol's
  // modules build them at load time): 130 KB more on a phone's first load. Types cost nothing.
  it('imports only types from @warbler/protocol', () => {
    const offenders = entryFiles().flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\b)[^;]*?from\s+'@warbler\/protocol'/gm)].map(() => path.relative(root, file)),
    );
    expect(offenders).toEqual([]);
  });
});
