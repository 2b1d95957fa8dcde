import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS, parseLine, readLines, validateFile, type LineRules } from './lines.ts';

const dir = mkdtempSync(join(tmpdir(), 'warbler-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rules: LineRules = {
  endpoint: '/v1/chat/completions',
  mayUse: (m) => m !== 'gpt-4o',
  isRouted: (m) => m === 'gpt-4o-mini' || m === 'gpt-4o',
};

const line = (custom_id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, ...extra });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('batch input lines', () => {
  it('reads non-blank lines with their physical numbers, CRLF or LF', async () => {
    const path = file('crlf.jsonl', `a\r\n\r\nb\n  \nc`);
    const seen = [];
    for await (const l of readLines(path)) seen.push(l);
    expect(seen).toEqual([{ index: 0, text: 'a' }, { index: 2, text: 'b' }, { index: 4, text: 'c' }]);
  });

  it('accepts a well-formed line', () => {
    const r = parseLine({ index: 0, text: line('a') }, rules);
    expect(r).toEqual({ ok: true, line: { index: 0, custom_id: 'a', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } } });
  });

  it.each([
    ['not json', '{"custom_id":', 'invalid_json_line'],
    ['an array', '[1,2]', 'invalid_json_line'],
    ['no custom_id', line('', {}), 'missing_custom_id'],
    ['GET', line('a', { method: 'GET' }), 'invalid_method'],
    ['another endpoint', line('a', { url: '/v1/embeddings' }), 'invalid_url'],
    ['no body', line('a', { body: 'x' }), 'invalid_body'],
    ['no model', line('a', { body: { messages: [] } }), 'missing_model'],
    ['an unknown model', line('a', { body: { model: 'nope', messages: [{ role: 'user', content: 'x' }] } }), 'model_not_found'],
    ['a model the key may not use', line('a', { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } }), 'model_not_allowed'],
    ['streaming', line('a', { body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] } }), 'invalid_body'],
    ['no messages', line('a', { body: { model: 'gpt-4o-mini' } }), 'invalid_body'],
  ])('refuses %s, naming the 1-based line', (_what, text, code) => {
    const r = parseLine({ index: 6, text }, rules);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.line).toBe(7);
      expect(r.error.message).toMatch(/^Line 7: /);
    }
  });

  it('validates a whole file: duplicates, an empty file, and a cap on reported errors', async () => {
    const ok = await validateFile(file('ok.jsonl', `${line('a')}\n${line('b')}\n`), rules);
    expect(ok).toEqual({ total: 2, errors: [] });

    const dup = await validateFile(file('dup.jsonl', `${line('a')}\n\n${line('a')}\n`), rules);
    expect(dup.errors).toEqual([expect.objectContaining({ code: 'duplicate_custom_id', line: 3, param: 'custom_id' })]);

    const empty = await validateFile(file('empty.jsonl', '\n\n'), rules);
    expect(empty.errors.map((e) => e.code)).toEqual(['empty_file']);

    const bad = Array.from({ length: MAX_REPORTED_ERRORS + 5 }, (_, i) => line(`x${i}`, { method: 'PUT' })).join('\n');
    const many = await validateFile(file('many.jsonl', bad), rules);
    expect(many.errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(many.errors.at(-1)).toMatchObject({ code: 'more_errors', message: expect.stringContaining('5 more lines') });
  });
});
