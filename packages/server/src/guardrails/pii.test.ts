import { describe, expect, it } from 'vitest';
import { findPii, luhn, PII_KINDS, PiiVault, validResidentId } from './pii.ts';

const kinds = (text: string) => findPii(text, PII_KINDS).map((s) => [s.kind, s.value]);

describe('resident identity card numbers', () => {
  it.each(['11010519491231002X', '11010519491231002x', '440304199003071248', '110101199001010015'])('%s passes the checksum', (id) => {
    expect(validResidentId(id)).toBe(true);
  });
  it.each([
    ['110105194912310021', 'wrong check character'],
    ['440304199003071247', 'wrong check character'],
    ['110105194902300023', 'February 30th'],
    ['110105299001010011', 'born in 2990'],
    ['11010519491231002', 'too short'],
  ])('%s fails (%s)', (id) => {
    expect(validResidentId(id)).toBe(false);
  });
});

describe('bank cards (Luhn)', () => {
  it.each(['6222021001123456789', '6217000000000000004', '4111111111111111'])('%s passes', (card) => expect(luhn(card)).toBe(true));
  it.each(['6222021001123456788', '4111111111111112', '1234567890123'])('%s fails', (card) => expect(luhn(card)).toBe(false));
});

describe('finding personal data in text', () => {
  it('finds each kind, with its separators, and only valid numbers', () => {
    expect(kinds('我的手机是13800138000，身份证11010519491231002X，卡号6222 0210 0112 3456 789，邮箱 li.lei+shop@example.com.cn，或 wang_fang@mail.qq.com')).toEqual([
      ['mobile', '13800138000'],
      ['id_card', '11010519491231002X'],
      ['bank_card', '6222 0210 0112 3456 789'],
      ['email', 'li.lei+shop@example.com.cn'],
      ['email', 'wang_fang@mail.qq.com'],
    ]);
    expect(kinds('call +86 139-1234-5678 or 186 1234 5678')).toEqual([['mobile', '+86 139-1234-5678'], ['mobile', '186 1234 5678']]);
    // A text with just a mobile number's 11 digits (the fewest of any kind) is scanned; one digit fewer has no number.
    expect(kinds('13800138000')).toEqual([['mobile', '13800138000']]);
    expect(kinds('1380013800')).toEqual([]);
  });

  it('leaves alone what only looks like personal data', () => {
    expect(kinds('order 110105194912310021 (bad checksum), card 6222021001123456788 (fails Luhn)')).toEqual([]);
    expect(kinds('landline 010-12345678, 12800138000 (no such prefix), 138001380001 (12 digits), 2023-10-01')).toEqual([]);
    expect(kinds('tracking SF13800138000CN, version 1.2.3, user@localhost, @mention')).toEqual([]);
  });
});

describe('the vault: masks for one call, put back in the reply', () => {
  it('gives one value one placeholder and restores them in a whole reply', () => {
    const vault = new PiiVault(new Set(PII_KINDS));
    const masked = vault.mask('Text 13800138000 or 13900139000; again 138 0013 8000. Mail a@b.io');
    expect(masked).toBe('Text [PHONE_1] or [PHONE_2]; again [PHONE_1]. Mail [EMAIL_1]');
    expect(vault.restore('I will text [PHONE_2] and mail [EMAIL_1]; [PHONE_9] is unknown.')).toBe('I will text 13900139000 and mail a@b.io; [PHONE_9] is unknown.');
    expect(vault.masked.get('mobile')).toBe(3);
  });

  it('restores a streamed reply whose placeholder is split across deltas', () => {
    const vault = new PiiVault(new Set(['mobile'] as const));
    vault.mask('13800138000');
    const r = vault.restorer();
    const out = ['Calling [PH', 'ONE', '_1] now [', 'not a placeholder] ok [', ''].map((d) => r.push(d)).join('') + r.flush();
    expect(out).toBe('Calling 13800138000 now [not a placeholder] ok [');
  });

  it('restores a JSON text in place exactly as a restore of each string and a new serialisation would', () => {
    const vault = new PiiVault(new Set(PII_KINDS));
    vault.mask('13800138000 a.b+c@ex-ample.io 110105194912310029 4111 1111 1111 1111');
    const deep = (v: unknown): unknown =>
      typeof v === 'string' ? vault.restore(v) : Array.isArray(v) ? v.map(deep) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v;
    const pieces = ['[PHONE_1]', '[EMAIL_1]', '[ID_1]', '[CARD_1]', '[PHONE_7]', '[', ']', ' ', 'x', '"', '\n', '中', '[PHONE_', '1]'];
    let seed = 7;
    const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length]!;
    const text = () => Array.from({ length: 1 + (seed % 9) }, pick).join('');
    for (let i = 0; i < 300; i++) {
      const body = { id: 'chatcmpl-1', choices: [{ message: { role: 'assistant', content: text(), tool_calls: [{ function: { name: 'f', arguments: JSON.stringify({ to: text() }) } }] } }], note: [text(), 3] };
      const json = JSON.stringify(body);
      expect(vault.restoreJson(json)).toBe(JSON.stringify(deep(body)));
    }
  });

  it('leaves a JSON text that writes characters as \\u escapes to a parse (a placeholder may hide in them)', () => {
    const vault = new PiiVault(new Set(['mobile'] as const));
    vault.mask('13800138000');
    expect(vault.restoreJson('{"content":"\\u005bPHONE_1\\u005d"}')).toBeUndefined();
    expect(vault.restoreJson('{"content":"no placeholder"}')).toBe('{"content":"no placeholder"}');
  });

  it('masks only the kinds the policy names', () => {
    const vault = new PiiVault(new Set(['email'] as const));
    expect(vault.mask('13800138000 x@y.cn')).toBe('13800138000 [EMAIL_1]');
  });
});

describe('hostile input', () => {
  it('stays linear: 50,000 emails and numbers in one prompt are masked in well under a second', () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `u${i}@x.cn 1380013${String(i % 10_000).padStart(4, '0')}`).join(' ');
    const t0 = performance.now();
    const vault = new PiiVault(new Set(PII_KINDS));
    const masked = vault.mask(text);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(masked).not.toMatch(/@x\.cn|1380013/);
    expect(vault.masked.get('email')).toBe(50_000);
  });
});
