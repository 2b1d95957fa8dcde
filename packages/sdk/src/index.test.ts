import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as sdk from './index.ts';

describe('@warbler/sdk', () => {
  it('exports the client, its error and the storage adapter', () => {
    expect(Object.keys(sdk).sort()).toEqual(['CloseCode', 'SupportApi', 'WarblerClient', 'WarblerError', 'supportAuthor', 'webStorage']);
  });

  it('stays browser-safe: no Node built-ins, no ws, and only types from @warbler/protocol (which carries zod)', () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    // webhooks.ts is the '@warbler/sdk/webhooks' entry, for servers receiving webhooks: not part of the client.
    expect(readFileSync(`${dir}/index.ts`, 'utf8')).not.toMatch(/from '\.\/webhooks\.ts'/);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'webhooks.ts')) {
      const source = readFileSync(`${dir}/${file}`, 'utf8');
      const imports = [...source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({ typeOnly: Boolean(m[1]), from: m[2] ?? '' }));
      expect(imports.length > 0 || source.trim().length > 0).toBe(true);
      for (const { typeOnly, from } of imports) {
        expect(from.startsWith('./') || from === '@warbler/protocol', `${file} imports ${from}`).toBe(true);
        if (from === '@warbler/protocol') expect(typeOnly, `${file} imports values from @warbler/protocol`).toBe(true);
      }
    }
  });
});
