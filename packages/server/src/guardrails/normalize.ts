// Text as the sensitive-word matcher sees it. People dodge word lists with
// full-width letters (ｆｕｃｋ), traditional characters (賭博 for 赌博),
// capitals, zero-width or combining marks, and spaces or symbols between the
// characters (f.u.c.k, 赌*博, 法 轮 功). Normalizing both the lists and the
// text the same way catches those; every normalized unit remembers which
// characters of the original it came from, so a mask lands on the original.
import { Converter } from 'opencc-js/t2cn';

/** What a normalized unit is. Separators between kept units become one space, or nothing (see join rules below). */
export const DROP = 0;
export const WORD = 1;
export const CJK = 2;
const SPACE = 3;
const PUNCT = 4;

export interface NormalizedText {
  /** UTF-16 units of the normalized text (0..length). */
  codes: Uint16Array;
  length: number;
  /** WORD, CJK, or 0 for the single space kept between two words. */
  kinds: Uint8Array;
  /** Original UTF-16 range [start, end) each unit came from. */
  start: Int32Array;
  end: Int32Array;
}

// Per code point: what it becomes (NFKC: full-width and styled letters to plain ones; lower case; traditional to simplified).
const mapped = new Map<number, Mapped>();
const kindCache = new Map<number, number>();
/** Bounds the caches against text made of every code point there is. */
const CACHE_LIMIT = 200_000;

let t2s: ((s: string) => string) | undefined;
const HAN = /\p{Script=Han}/u;
const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const IGNORABLE = /[\p{M}\p{Cf}]/u;
// Sentence punctuation ends a phrase: a word is not matched across it, unless it separates single characters (代，开，发，票).
const SENTENCE_PUNCT = /[,.!?;:。、｡､]/u;

/** What one non-ASCII code point becomes: its units and their kinds, computed once per code point. */
interface Mapped {
  codes: number[];
  kinds: number[];
}

function mapCodePoint(cp: number): Mapped {
  const cached = mapped.get(cp);
  if (cached !== undefined) return cached;
  let out = String.fromCodePoint(cp).normalize('NFKC').toLowerCase();
  if (HAN.test(out)) {
    const convert = (t2s ??= Converter({ from: 't', to: 'cn' }));
    out = convert(out);
  }
  const m: Mapped = { codes: [], kinds: [] };
  for (let j = 0; j < out.length; ) {
    const ocp = out.codePointAt(j)!;
    const k = kindOf(ocp);
    const width = ocp > 0xffff ? 2 : 1;
    for (let w = 0; w < width; w++) {
      m.codes.push(out.charCodeAt(j + w));
      m.kinds.push(k);
    }
    j += width;
  }
  if (mapped.size < CACHE_LIMIT) mapped.set(cp, m);
  return m;
}

function kindOf(cp: number): number {
  if (cp < 128) {
    if ((cp >= 97 && cp <= 122) || (cp >= 48 && cp <= 57)) return WORD;
    return SENTENCE_PUNCT_ASCII[cp] ? PUNCT : SPACE;
  }
  let k = kindCache.get(cp);
  if (k !== undefined) return k;
  const ch = String.fromCodePoint(cp);
  k = NO_SPACE_SCRIPT.test(ch) ? CJK : LETTER_OR_DIGIT.test(ch) ? WORD : IGNORABLE.test(ch) ? DROP : SENTENCE_PUNCT.test(ch) ? PUNCT : SPACE;
  if (kindCache.size < CACHE_LIMIT) kindCache.set(cp, k);
  return k;
}

const SENTENCE_PUNCT_ASCII = new Uint8Array(128);
for (const c of ',.!?;:') SENTENCE_PUNCT_ASCII[c.charCodeAt(0)] = 1;
/** ASCII, folded: its lower-case unit and kind, by table (most prompts are mostly ASCII). */
const ASCII_LOWER = new Uint16Array(128);
const ASCII_KIND = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const lower = c >= 65 && c <= 90 ? c + 32 : c;
  ASCII_LOWER[c] = lower;
  ASCII_KIND[c] = kindOf(lower);
}

/** Scratch buffers, reused between calls (the matcher runs on every prompt). */
class Units {
  codes = new Uint16Array(1024);
  kinds = new Uint8Array(1024);
  start = new Int32Array(1024);
  end = new Int32Array(1024);
  n = 0;
  push(code: number, kind: number, start: number, end: number): void {
    if (this.n === this.codes.length) this.grow();
    const i = this.n++;
    this.codes[i] = code;
    this.kinds[i] = kind;
    this.start[i] = start;
    this.end[i] = end;
  }
  /** Room for `more` units past n. */
  reserve(more: number): void {
    while (this.n + more > this.codes.length) this.grow();
  }
  private grow(): void {
    const size = this.codes.length * 2;
    const codes = new Uint16Array(size);
    codes.set(this.codes);
    const kinds = new Uint8Array(size);
    kinds.set(this.kinds);
    const start = new Int32Array(size);
    start.set(this.start);
    const end = new Int32Array(size);
    end.set(this.end);
    Object.assign(this, { codes, kinds, start, end });
  }
}

/**
 * Step 1: every character mapped and classified; a run of separators is one
 * SPACE or PUNCT unit (PUNCT when it holds sentence punctuation).
 */
function mapUnits(text: string, into: Units): void {
  // ASCII (most of most prompts) takes one unit a character: room for all of it up front, and the arrays held in locals.
  into.n = 0;
  into.reserve(text.length);
  let codes = into.codes;
  let kinds = into.kinds;
  let starts = into.start;
  let ends = into.end;
  let n = 0;
  let lastSep = -1;
  for (let i = 0; i < text.length; ) {
    let cp = text.charCodeAt(i);
    const from = i;
    if (cp < 128) {
      i++;
      const k = ASCII_KIND[cp]!;
      if (k === WORD) {
        codes[n] = ASCII_LOWER[cp]!;
        kinds[n] = WORD;
        starts[n] = from;
        ends[n] = i;
        n++;
        lastSep = -1;
      } else if (lastSep >= 0) {
        if (k === PUNCT) kinds[lastSep] = PUNCT;
        ends[lastSep] = i;
      } else {
        codes[n] = 32;
        kinds[n] = k;
        starts[n] = from;
        ends[n] = i;
        lastSep = n++;
      }
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    const m = mapCodePoint(cp);
    into.n = n;
    for (let j = 0; j < m.codes.length; j++) {
      const k = m.kinds[j]!;
      if (k === WORD || k === CJK) {
        into.push(m.codes[j]!, k, from, i);
        lastSep = -1;
      } else if (k !== DROP) lastSep = addSeparator(into, lastSep, k, from, i);
    }
    // A code point may have grown the arrays (NFKC makes up to 18 units of one), and the ASCII after it needs its room again.
    n = into.n;
    into.reserve(text.length - i);
    codes = into.codes;
    kinds = into.kinds;
    starts = into.start;
    ends = into.end;
  }
  into.n = n;
}

function addSeparator(into: Units, lastSep: number, kind: number, from: number, to: number): number {
  if (lastSep >= 0) {
    if (kind === PUNCT) into.kinds[lastSep] = PUNCT;
    into.end[lastSep] = to;
    return lastSep;
  }
  into.push(32, kind, from, to);
  return into.n - 1;
}

const scratch = new Units();
let shared: NormalizedText | undefined;

/** The one NormalizedText `reuse` hands out, large enough for n units: four typed arrays a prompt were a measurable part of the matcher. */
function reused(n: number): NormalizedText {
  if (!shared || shared.codes.length < n) {
    const size = Math.max(1024, n);
    shared = { codes: new Uint16Array(size), kinds: new Uint8Array(size), start: new Int32Array(size), end: new Int32Array(size), length: 0 };
  }
  shared.length = 0;
  return shared;
}

/**
 * The normalized text. Between two kept runs a separator becomes nothing when
 * - both runs are one character long (spaced-out letters: f u c k), or one
 *   of them is for Chinese (法.轮.功, 帮我代.开.发.票),
 * - or a Chinese/Japanese character is on either side and it holds no
 *   sentence punctuation (赌 博, 赌*博, AV 女优): those scripts use no spaces;
 * and one space otherwise, so English words keep their boundaries and a
 * phrase is not matched across a comma or full stop.
 *
 * With `reuse`, the result lives in buffers the next call with `reuse`
 * overwrites (and may be longer than `length`): for a caller that is done
 * with it before it calls again, as WordMatcher.find is.
 */
export function normalizeText(text: string, reuse = false): NormalizedText {
  const u = scratch;
  mapUnits(text, u);
  const n = u.n;
  const out: NormalizedText = reuse ? reused(n) : {
    codes: new Uint16Array(n),
    kinds: new Uint8Array(n),
    start: new Int32Array(n),
    end: new Int32Array(n),
    length: 0,
  };
  // Locals, not the objects' fields, in the loop: this runs on every prompt text.
  const uCodes = u.codes, uKinds = u.kinds, uStart = u.start, uEnd = u.end;
  const codes = out.codes, kinds = out.kinds, start = out.start, end = out.end;
  let length = 0;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const k = uKinds[i]!;
    if (k === WORD || k === CJK) {
      codes[length] = uCodes[i]!;
      kinds[length] = k;
      start[length] = uStart[i]!;
      end[length] = uEnd[i]!;
      length++;
      continue;
    }
    // A separator: look at the runs on both sides.
    const before = i - runStart;
    runStart = i + 1;
    if (length === 0) continue;
    let j = i + 1;
    while (j < n && (uKinds[j] === WORD || uKinds[j] === CJK)) j++;
    const after = j - i - 1;
    if (after === 0) continue;
    const cjkNext = uKinds[i - 1] === CJK || uKinds[i + 1] === CJK;
    // Chinese spaced out with punctuation (帮我代.开.发.票) has a single character on at least one side.
    const spacedOut = cjkNext ? before === 1 || after === 1 : before === 1 && after === 1;
    if (spacedOut || (cjkNext && k !== PUNCT)) continue;
    codes[length] = 32;
    kinds[length] = 0;
    start[length] = uStart[i]!;
    end[length] = uEnd[i]!;
    length++;
  }
  out.length = length;
  return out;
}

/** The normalized text as a string (for tests, and list words). */
export function normalizedString(n: NormalizedText): string {
  let s = '';
  for (let i = 0; i < n.length; i += 4096) s += String.fromCharCode(...n.codes.subarray(i, Math.min(n.length, i + 4096)));
  return s;
}

/** A short string normalized: how list words and allowed phrases are compared. */
export function normalizeWord(word: string): string {
  return normalizedString(normalizeText(word));
}
