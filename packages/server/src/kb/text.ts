import { countTokens as count, isWithinTokenLimit } from 'gpt-tokenizer/encoding/o200k_base';

// Documents are data: a literal "<|endoftext|>" in them is text, not a reason to throw.
const asText = { disallowedSpecial: new Set<string>() };

/** o200k tokens in `text`, the tokenizer of gpt-4o and gpt-4o-mini. */
export function countTokens(text: string): number {
  return count(text, asText);
}

/** True when `text` has at most `limit` o200k tokens; stops encoding early on long text. */
export function fitsTokens(text: string, limit: number): boolean {
  return isWithinTokenLimit(text, limit, asText) !== false;
}

// ICU rules are the same for every locale here; 'zh' enables the Chinese word dictionary.
const sentenceSegmenter = new Intl.Segmenter('zh', { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/** Sentences with their trailing whitespace kept, so joining them gives back the text. */
export function sentences(text: string): string[] {
  return Array.from(sentenceSegmenter.segment(text), (s) => s.segment);
}

/** Every segment (words, spaces, punctuation), so joining them gives back the text. */
export function segments(text: string): Intl.SegmentData[] {
  return Array.from(wordSegmenter.segment(text));
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
