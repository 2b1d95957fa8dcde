// What a message is indexed by and a query looks for. Text is normalized
// (NFKC folds full-width letters and digits to their half-width forms, then
// lower case), then cut into terms: a word for each run of letters and digits
// in scripts that separate words with spaces, and for Chinese, Japanese and
// Korean runs every character and every pair of adjacent characters. Pairs
// need no dictionary, so a query and a message are always cut the same way
// (a word segmenter may cut "会议室" in a query differently from the sentence
// it is in); a query's pairs must all be found, and then the decrypted text is
// checked for the query as typed, so pairs found apart never count as a match.

/** Characters indexed one by one and in pairs: Han, kana, Hangul, and the CJK symbols between them. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
/** Longer words are cut here: nobody searches for them whole, and they would make every term unique. */
const MAX_WORD = 64;

/** A piece of normalized text: a word, or a run of CJK characters. */
export interface Piece {
  kind: 'word' | 'cjk';
  text: string;
}

/** Normalized text, and for each of its UTF-16 units the index in the original where it came from. */
export interface Normalized {
  text: string;
  from: number[];
}

export function normalize(original: string): Normalized {
  let text = '';
  const from: number[] = [];
  let i = 0;
  for (const ch of original) {
    // ASCII is its own NFKC form: only letters change (case), and that without the Unicode tables.
    const code = ch.charCodeAt(0);
    const n = code < 0x80 ? (code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 0x20) : ch) : ch.normalize('NFKC').toLowerCase();
    text += n;
    for (let k = 0; k < n.length; k++) from.push(i);
    i += ch.length;
  }
  from.push(i);
  return { text, from };
}

/** Words and CJK runs of already normalized text, in order. */
export function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let word = '';
  let cjk = '';
  const flush = () => {
    if (word) out.push({ kind: 'word', text: word.slice(0, MAX_WORD) });
    if (cjk) out.push({ kind: 'cjk', text: cjk });
    word = '';
    cjk = '';
  };
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) {
      // ASCII: a word character is a letter or a digit (no ASCII character is CJK or a mark).
      if ((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) {
        if (cjk) flush();
        word += ch;
      } else flush();
    } else if (CJK.test(ch)) {
      if (word) flush();
      cjk += ch;
    } else if (WORD_CHAR.test(ch)) {
      if (cjk) flush();
      word += ch;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

/** Every term a message's text is indexed under (each once). */
export function documentTerms(original: string): string[] {
  const terms = new Set<string>();
  // Only the text is needed here, not where each unit came from: all-ASCII text skips the per-character walk.
  const text = /^[\x00-\x7f]*$/.test(original) ? original.toLowerCase() : normalize(original).text;
  for (const piece of pieces(text)) {
    if (piece.kind === 'word') {
      terms.add(`w:${piece.text}`);
      continue;
    }
    const chars = [...piece.text];
    for (let i = 0; i < chars.length; i++) {
      terms.add(`c:${chars[i]}`);
      if (i + 1 < chars.length) terms.add(`c:${chars[i]}${chars[i + 1]}`);
    }
  }
  return [...terms];
}

/** The terms a query needs every one of: its words, and its CJK runs as pairs (a lone character as itself). */
export function queryTerms(query: string): { terms: string[]; pieces: Piece[] } {
  const found = pieces(normalize(query).text);
  const terms = new Set<string>();
  for (const piece of found) {
    if (piece.kind === 'word') {
      terms.add(`w:${piece.text}`);
      continue;
    }
    const chars = [...piece.text];
    if (chars.length === 1) terms.add(`c:${chars[0]}`);
    for (let i = 0; i + 1 < chars.length; i++) terms.add(`c:${chars[i]}${chars[i + 1]}`);
  }
  return { terms: [...terms], pieces: found };
}

/**
 * Where each query piece occurs in the original text, as [start, end) in its
 * UTF-16 indexes; undefined when one of them does not occur (a candidate whose
 * terms were all found, but not as the query has them: pairs apart, or a word
 * only inside a longer one).
 */
export function matchRanges(original: string, query: Piece[]): Array<[number, number]> | undefined {
  const norm = normalize(original);
  const ranges: Array<[number, number]> = [];
  for (const piece of query) {
    const found = piece.kind === 'word' ? wordRanges(norm.text, piece.text) : substringRanges(norm.text, piece.text);
    if (found.length === 0) return undefined;
    for (const [s, e] of found) ranges.push([norm.from[s]!, norm.from[e]!]);
  }
  return merge(ranges);
}

function substringRanges(text: string, needle: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = text.indexOf(needle); at >= 0 && out.length < 50; at = text.indexOf(needle, at + needle.length)) {
    out.push([at, at + needle.length]);
  }
  return out;
}

function wordRanges(text: string, word: string): Array<[number, number]> {
  return substringRanges(text, word).filter(([s, e]) => !isWordChar(text, s - 1, true) && !isWordChar(text, e, false));
}

/** Whether the character touching this index belongs to a word (so a match there is only part of a longer word). */
function isWordChar(text: string, index: number, before: boolean): boolean {
  if (index < 0 || index >= text.length) return false;
  const cp = before ? String.fromCodePoint(text.codePointAt(index - (isLowSurrogate(text, index) ? 1 : 0))!) : String.fromCodePoint(text.codePointAt(index)!);
  return WORD_CHAR.test(cp) && !CJK.test(cp);
}

function isLowSurrogate(text: string, index: number): boolean {
  const c = text.charCodeAt(index);
  return c >= 0xdc00 && c <= 0xdfff && index > 0;
}

function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** Characters of context kept on each side of the first match. */
const CONTEXT = 40;

/** A short piece of the text around the first match, with the matches in it (offsets into the snippet). */
export function snippetOf(original: string, ranges: Array<[number, number]>): { text: string; highlights: Array<[number, number]> } {
  const first = ranges[0] ?? [0, 0];
  let start = Math.max(0, first[0] - CONTEXT);
  let end = Math.min(original.length, first[1] + CONTEXT * 2);
  // Never cut a surrogate pair in half.
  if (isLowSurrogate(original, start)) start--;
  if (end < original.length && isLowSurrogate(original, end)) end++;
  const lead = start > 0 ? '…' : '';
  const text = lead + original.slice(start, end).replace(/\s+/g, ' ') + (end < original.length ? '…' : '');
  // Whitespace runs collapsed above change offsets: recompute them on the snippet's own text.
  const slice = original.slice(start, end);
  const shift = (i: number) => lead.length + slice.slice(0, i - start).replace(/\s+/g, ' ').length;
  const highlights = ranges.filter(([s, e]) => s >= start && e <= end).map(([s, e]): [number, number] => [shift(s), shift(e)]);
  return { text, highlights };
}
