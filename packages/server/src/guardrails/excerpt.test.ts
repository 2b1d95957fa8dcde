import { describe, expect, it } from 'vitest';
import { excerptAround, excerptAtPlaceholder } from './excerpt.ts';

describe('intervention excerpts', () => {
  it('shows the words around a hit with the hit itself and personal data masked', () => {
    const text = 'please call 13800138000 today, I want to buy 赌博 chips, mail me at someone@example.com';
    const at = text.indexOf('赌博');
    const e = excerptAround(text, at, at + 2);
    expect(e).toContain('***');
    expect(e).not.toContain('赌博');
    expect(e).not.toMatch(/\d{4}/);
    expect(e).not.toContain('someone@');
  });

  it('never leaves part of a number the window cut', () => {
    const text = `${'x'.repeat(10)} 13800138000 ${'y'.repeat(20)} bad word here`;
    const at = text.indexOf('bad');
    expect(excerptAround(text, at, at + 3)).not.toMatch(/\d{3}/);
  });

  it('masks personal data right up to the hit on both sides, and copes with NUL characters in the text', () => {
    const text = 'call 13800138000';
    expect(excerptAround(`${text}BAD13800138000 or a@b.io`, text.length, text.length + 3)).toBe('call [mobile]***[mobile] or [email]');
    const nul = 'a\u0000b 13800138000 BAD x\u0000y';
    expect(excerptAround(nul, nul.indexOf('BAD'), nul.indexOf('BAD') + 3)).toBe('a\u0000b [mobile] *** x\u0000y');
  });

  it('shows each run of white space as one space', () => {
    const text = 'line one\n\n\tline  two BAD a\u3000b c\r\nd';
    expect(excerptAround(text, text.indexOf('BAD'), text.indexOf('BAD') + 3)).toBe('line one line two *** a b c d');
  });

  it('finds a placeholder of the kind in masked text', () => {
    expect(excerptAtPlaceholder('reach me on [PHONE_1] after six', 'mobile')).toBe('reach me on [PHONE_1] after six');
    expect(excerptAtPlaceholder('reach me on [PHONE_1]', 'email')).toBeUndefined();
  });
});
