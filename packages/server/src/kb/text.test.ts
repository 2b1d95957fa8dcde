import { describe, expect, it } from 'vitest';
import { countTokens, fitsTokens, segments, sentences, textLanguage, windows } from './text.ts';

describe('windows', () => {
  it('cuts long text into bounded pieces that join back to the text, at line breaks when it can', () => {
    const text = Array.from({ length: 300 }, (_, i) => `Line ${i} of the log.`).join('\n');
    const pieces = windows(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(2000);
    for (const piece of pieces.slice(0, -1)) expect(piece.endsWith('\n')).toBe(true);
  });

  it('cuts Chinese after sentence punctuation and never splits a surrogate pair', () => {
    const zh = '退款审核通过后款项原路退回。'.repeat(400);
    for (const piece of windows(zh).slice(0, -1)) expect(piece.endsWith('。')).toBe(true);
    const emoji = '😀'.repeat(3000);
    expect(windows(emoji).every((p) => !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(p))).toBe(true);
  });
});

describe('segmentation of long text', () => {
  it('stays fast on a 300 KB line', () => {
    const line = 'word '.repeat(60_000);
    const started = performance.now();
    expect(segments(line).filter((s) => s.isWordLike)).toHaveLength(60_000);
    expect(sentences(line).join('')).toBe(line);
    // Unwindowed, V8 takes tens of seconds here.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('tokens', () => {
  it('counts o200k tokens and treats special-token text as text', () => {
    expect(countTokens('hello world')).toBe(2);
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1);
    expect(fitsTokens('hello world', 2)).toBe(true);
    expect(fitsTokens('hello world', 1)).toBe(false);
    expect(fitsTokens('x'.repeat(100_000), 1000)).toBe(false);
  });
});

describe('textLanguage', () => {
  it.each([
    ['退款多久能到账？', 'zh'],
    ['如何 install Warbler？', 'zh'],
    ['What does 退款 mean?', 'en'],
    ['How do I install it?', 'en'],
    ['???', undefined],
  ])('%s → %s', (text, lang) => {
    expect(textLanguage(text)).toBe(lang);
  });
});
