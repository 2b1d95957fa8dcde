import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWarblerConfig, WarblerConfigError } from './warbler-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'warbler-guardrails-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(text: string, path?: string): WarblerConfigError {
  try {
    parseWarblerConfig(text, {}, path);
  } catch (e) {
    if (e instanceof WarblerConfigError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

describe('warbler.yaml guardrails:', () => {
  it('reads lists (inline and from a file beside warbler.yaml), PII, policies, apps and an agent\'s policy', () => {
    writeFileSync(join(dir, 'zh.txt'), '# 违法业务\n赌博\n\n代开发票  # 常见\n');
    const file = parseWarblerConfig(
      [
        'guardrails:',
        '  lists:',
        '    illegal-zh: { action: block, file: zh.txt }',
        '    profanity: { action: mask, words: [fuck*, shit] }',
        '  allow: [替代开发票据]',
        '  pii: { mask: [mobile, email], restore_in_reply: true }',
        '  policies:',
        '    relaxed: { lists: [illegal-zh], pii: false, injection_screen: false }',
        '  apps: { shop: relaxed }',
        'agents:',
        '  - name: Helper',
        '    guardrails: relaxed',
      ].join('\n'),
      {},
      join(dir, 'warbler.yaml'),
    );
    expect(file.guardrails).toEqual({
      lists: [
        { name: 'illegal-zh', action: 'block', words: ['赌博', '代开发票'] },
        { name: 'profanity', action: 'mask', words: ['fuck*', 'shit'] },
      ],
      allow: ['替代开发票据'],
      pii: { mask: ['mobile', 'email'], restoreInReply: true },
      injectionScreen: true,
      policies: { relaxed: { lists: ['illegal-zh'], pii: { mask: [], restoreInReply: false }, injectionScreen: false } },
      apps: { shop: 'relaxed' },
    });
    expect(file.agents[0]?.guardrails).toBe('relaxed');
  });

  it('defaults: no section, no guardrails settings; pii: {} masks every kind without restoring', () => {
    expect(parseWarblerConfig('version: 1').guardrails).toBeUndefined();
    expect(parseWarblerConfig('guardrails: { pii: {} }').guardrails?.pii).toEqual({ mask: ['mobile', 'id_card', 'bank_card', 'email'], restoreInReply: false });
  });

  it('names the line of every mistake', () => {
    const e = failure(
      [
        'guardrails:',
        '  lists:',
        '    a: { action: delete, words: [x] }',
        '    b: { action: block }',
        '    c: { action: flag, file: missing.txt }',
        '  pii: { mask: [passport] }',
        '  policies:',
        '    strict: { lists: [nope] }',
        '    off: {}',
        '  apps: { shop: lenient }',
        'agents:',
        '  - name: Helper',
        '    guardrails: unknown',
      ].join('\n'),
      join(dir, 'warbler.yaml'),
    );
    expect(e.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'guardrails.lists.a.action', line: 3, message: expect.stringMatching(/block .*mask .*flag/) }),
        expect.objectContaining({ path: 'guardrails.lists.b', line: 4, message: expect.stringMatching(/words: \[\.\.\.\] or a file:/) }),
        expect.objectContaining({ path: 'guardrails.pii.mask[0]', line: 6, message: expect.stringMatching(/mobile, id_card, bank_card, email/) }),
      ]),
    );
    // Reference errors are found after the shapes are right.
    const refs = failure(
      [
        'guardrails:',
        '  lists:',
        '    c: { action: flag, file: missing.txt }',
        '  policies:',
        '    strict: { lists: [nope] }',
        '    off: {}',
        '  apps: { shop: lenient }',
        'agents:',
        '  - name: Helper',
        '    guardrails: unknown',
      ].join('\n'),
      join(dir, 'warbler.yaml'),
    );
    expect(refs.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'guardrails.lists.c.file', line: 3, message: expect.stringMatching(/missing\.txt \(there is no such file\)/) }),
        expect.objectContaining({ path: 'guardrails.policies.strict.lists[0]', line: 5, message: 'no list named "nope"; declared: c' }),
        expect.objectContaining({ path: 'guardrails.policies.off', line: 6, message: expect.stringMatching(/built in/) }),
        expect.objectContaining({ path: 'guardrails.apps.shop', line: 7, message: expect.stringMatching(/no guardrails policy named "lenient"/) }),
        expect.objectContaining({ path: 'agents[0].guardrails', line: 10, message: expect.stringMatching(/no guardrails policy named "unknown"/) }),
      ]),
    );
  });
});
