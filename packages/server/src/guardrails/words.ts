// Operator-supplied sensitive-word lists, matched on normalized text.
//
// Matching rules (docs: warbler.example.yaml, guardrails:):
// - A word that starts (ends) with a letter or digit of a spaced script
//   (English, pinyin, numbers) matches only where no letter or digit is right
//   before (after) it in the normalized text: "ass" is not found in "class" or
//   "assessment", "rape" not in "grape", "cum" not in "document".
//   Write "fuck*" to match a prefix (fucking, fucked), "*ware" for a suffix.
// - Chinese and Japanese words match anywhere (those scripts have no spaces).
//   Innocent words that contain a listed one go in `allow`: a match lying
//   inside an allowed phrase is skipped (替代开发票据 is not 代开发票).
import { AhoCorasick } from './aho-corasick.ts';
import { normalizeText, normalizeWord, WORD, type NormalizedText } from './normalize.ts';

export type WordAction = 'block' | 'mask' | 'flag';

export interface WordList {
  name: string;
  action: WordAction;
  words: string[];
}

export interface WordHit {
  list: string;
  action: WordAction;
  /** The word as the list has it. */
  word: string;
  /** Range in the original text, [start, end). */
  start: number;
  end: number;
}

interface Pattern {
  list: number;
  word: string;
  /** Units of the normalized pattern; an allowed phrase has list -1. */
  length: number;
  startBoundary: boolean;
  endBoundary: boolean;
}

const isWordUnit = (n: NormalizedText, i: number) => i >= 0 && i < n.length && n.kinds[i] === WORD;

/** Every list of one policy in one automaton. */
export class WordMatcher {
  private readonly automaton: AhoCorasick;
  private readonly patterns: Pattern[] = [];
  readonly size: number;

  constructor(
    private readonly lists: ReadonlyArray<WordList>,
    allow: ReadonlyArray<string> = [],
  ) {
    const texts: string[] = [];
    const add = (raw: string, list: number) => {
      const trimmed = raw.trim();
      const prefix = list >= 0 && trimmed.endsWith('*');
      const suffix = list >= 0 && trimmed.startsWith('*');
      const norm = normalizeWord(trimmed.replace(/^\*|\*$/g, ''));
      if (!norm) return;
      const n = normalizeText(norm);
      texts.push(norm);
      this.patterns.push({
        list, word: trimmed, length: norm.length,
        startBoundary: !suffix && n.kinds[0] === WORD,
        endBoundary: !prefix && n.kinds[n.length - 1] === WORD,
      });
    };
    lists.forEach((l, i) => l.words.forEach((w) => add(w, i)));
    this.size = texts.length;
    for (const phrase of allow) add(phrase, -1);
    this.automaton = new AhoCorasick(texts);
  }

  /** Every listed word in the text, leftmost first, none inside an allowed phrase; overlapping hits are all reported. */
  find(text: string): WordHit[] {
    if (this.size === 0 || text.length === 0) return [];
    // Read to the end before this returns, so the shared buffers will do.
    const n = normalizeText(text, true);
    const hits: Array<{ p: Pattern; s: number; e: number }> = [];
    const allowed: Array<[number, number]> = [];
    this.automaton.scan(n.codes, n.length, (id, end) => {
      const p = this.patterns[id]!;
      const s = end - p.length;
      if (p.list < 0) {
        allowed.push([s, end]);
        return;
      }
      if (p.startBoundary && isWordUnit(n, s - 1)) return;
      if (p.endBoundary && isWordUnit(n, end)) return;
      hits.push({ p, s, e: end });
    });
    const inside = allowedCover(allowed, n.length);
    const out: WordHit[] = [];
    for (const h of hits) {
      if (inside && inside[h.s]! >= h.e) continue;
      const l = this.lists[h.p.list]!;
      out.push({ list: l.name, action: l.action, word: h.p.word, start: n.start[h.s]!, end: n.end[h.e - 1]! });
    }
    return out.sort((a, b) => a.start - b.start || b.end - a.end);
  }
}

/**
 * For each position, the furthest end of an allowed phrase starting at or
 * before it: a hit [s, e) lies inside one when cover[s] >= e. Linear, so a
 * prompt full of allowed phrases and listed words stays linear.
 */
function allowedCover(allowed: ReadonlyArray<[number, number]>, length: number): Int32Array | undefined {
  if (allowed.length === 0) return undefined;
  const cover = new Int32Array(length + 1).fill(-1);
  for (const [a, b] of allowed) if (b > cover[a]!) cover[a] = b;
  for (let i = 1; i <= length; i++) if (cover[i - 1]! > cover[i]!) cover[i] = cover[i - 1]!;
  return cover;
}

/** Replaces the ranges of the hits with ***, merging overlaps. */
export function maskRanges(text: string, ranges: ReadonlyArray<{ start: number; end: number }>, mask = '***'): string {
  if (ranges.length === 0) return text;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of sorted) {
    if (r.end <= at) continue;
    out += text.slice(at, Math.max(at, r.start)) + mask;
    at = r.end;
  }
  return out + text.slice(at);
}
