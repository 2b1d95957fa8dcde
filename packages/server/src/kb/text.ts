import { countTokens as count, isWithinTokenLimit } from 'gpt-tokenizer/encoding/o200k_base';

// Documents are data: a literal "<|endoftext|>" in them is text, not a reason to throw.
const asText = { disallowedSpecial: new Set<string>() };

/** o200k tokens in `text`, the tokenizer of gpt-4o and gpt-4o-mini. */
export function countTokens(text: string): number {
  return count(text, asText);
}

// No real text averages more characters per token; longer text is rejected
// unencoded, because BPE on one giant "word" (a base64 blob) is quadratic.
const MAX_CHARS_PER_TOKEN = 32;

/** True when `text` has at most `limit` o200k tokens; stops encoding early on long text. */
export function fitsTokens(text: string, limit: number): boolean {
  if (text.length > limit * MAX_CHARS_PER_TOKEN) return false;
  return isWithinTokenLimit(text, limit, asText) !== false;
}

// ICU rules are the same for every locale here; 'zh' enables the Chinese word dictionary.
const sentenceSegmenter = new Intl.Segmenter('zh', { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/** Sentences with their trailing whitespace kept, so joining them gives back the text. */
export function sentences(text: string): string[] {
  return windows(text).flatMap((w) => Array.from(sentenceSegmenter.segment(w), (s) => s.segment));
}

/** Every segment (words, spaces, punctuation), so joining them gives back the text. */
export function segments(text: string): Intl.SegmentData[] {
  return windows(text).flatMap((w) => Array.from(wordSegmenter.segment(w)));
}

// V8's segment iterator slows down quadratically with the length of its
// input (a 100 KB line takes seconds), so long text is segmented in windows.
const WINDOW = 2000;
const CUTS = [/\n/g, /[。！？；]/g, /[.!?;]\s/g, /\s/g];

/** Consecutive pieces of at most WINDOW characters, cut at the strongest break in each window's second half. */
export function windows(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (text.length - start > WINDOW) {
    const slice = text.slice(start, start + WINDOW);
    let cut = 0;
    for (const re of CUTS) {
      for (const m of slice.matchAll(re)) cut = m.index + m[0].length;
      if (cut > WINDOW / 2) break;
      cut = 0;
    }
    // Never between the halves of a surrogate pair.
    if (!cut) cut = /[\uD800-\uDBFF]/.test(slice[WINDOW - 1]!) ? WINDOW - 1 : WINDOW;
    out.push(text.slice(start, start + cut));
    start += cut;
  }
  out.push(text.slice(start));
  return out;
}

const HAN = /\p{Script=Han}/gu;
const LATIN_WORD = /\p{Script=Latin}+/gu;

/** 'zh' when the text reads as Chinese, 'en' when it reads as a Latin-script language, else undefined. */
export function textLanguage(text: string): 'zh' | 'en' | undefined {
  const han = text.match(HAN)?.length ?? 0;
  const latinWords = text.match(LATIN_WORD)?.length ?? 0;
  // A Chinese word is one to three characters, so a character count weighs about like a word count.
  if (han > 0 && han >= latinWords) return 'zh';
  if (latinWords > 0) return 'en';
  return undefined;
}
