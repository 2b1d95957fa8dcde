import { describe, expect, it } from 'vitest';
import { AhoCorasick } from './aho-corasick.ts';

function naive(patterns: string[], text: string): string[] {
  const out: string[] = [];
  patterns.forEach((p, id) => {
    if (!p) return;
    for (let i = text.indexOf(p); i >= 0; i = text.indexOf(p, i + 1)) out.push(`${id}@${i + p.length}`);
  });
  return out.sort();
}

function scan(patterns: string[], text: string): string[] {
  const out: string[] = [];
  const codes = Uint16Array.from(text, (c) => c.charCodeAt(0));
  new AhoCorasick(patterns).scan(codes, codes.length, (id, end) => out.push(`${id}@${end}`));
  return out.sort();
}

describe('Aho-Corasick', () => {
  it('finds overlapping and nested patterns (the classic he/she/his/hers)', () => {
    expect(scan(['he', 'she', 'his', 'hers'], 'ushers')).toEqual(['0@4', '1@4', '3@6']);
  });

  it('finds Chinese patterns sharing prefixes and suffixes', () => {
    expect(scan(['代开', '代开发票', '发票', '开发'], '替代开发票据')).toEqual(['0@3', '1@5', '2@5', '3@4']);
  });

  it('agrees with a naive search on random text over a small alphabet', () => {
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const word = (len: number) => Array.from({ length: len }, () => 'abc赌'[rnd(4)]).join('');
    for (let round = 0; round < 50; round++) {
      const patterns = Array.from({ length: 1 + rnd(12) }, () => word(1 + rnd(5)));
      const text = word(200);
      expect(scan(patterns, text)).toEqual(naive(patterns, text));
    }
  });
});
