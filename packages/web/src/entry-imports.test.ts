import { describe, expect, it } from 'vitest';

declare global {
  interface ImportMeta {
    /** Vite's glob import (the web tsconfig loads no vite/client types). */
    glob(patterns: string[], options: { query: '?raw'; import: 'default'; eager: true }): Record<string, string>;
  }
}

/** Source of the chat app's entry chunk: everything but the console, which main.tsx loads lazily. */
const sources = import.meta.glob(['./**/*.ts', './**/*.tsx', '!./console/**', '!./**/*.test.ts', '!./**/*.test.tsx'], { query: '?raw', import: 'default', eager: true });

describe("the chat app's entry chunk", () => {
  // Importing one schema from the protocol keeps every schema and zod in the bundle (the protocol's
  // modules build them at load time): 130 KB more on a phone's first load. Types cost nothing.
  it('imports only types from @warbler/protocol', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    const offenders = Object.entries(sources).filter(([, text]) => /^import\s+(?!type\b)[^;]*?from\s+'@warbler\/protocol'/m.test(text)).map(([file]) => file);
    expect(offenders).toEqual([]);
  });
});
