// The fixture tokenizes every prompt it is sent, in the test's own process.
// BPE is quadratic in the length of one pre-token, so a fuzzed prompt of a
// megabyte of "zzzz…" held the whole test process for minutes. Text holding a
// run this long without whitespace is tokenized in slices (a token or so per
// cut off exact), as the server's own counter does.
import { countTokens, encode } from 'gpt-tokenizer/encoding/o200k_base';

const SLICE = 256;
const LONG_RUN = new RegExp(`\\S{${SLICE + 1}}`);
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Slices of `text` that are each cheap to tokenize: the text itself when it has no long run. */
function slices(text: string): string[] {
  if (!LONG_RUN.test(text)) return [text];
  const out: string[] = [];
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + SLICE);
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end++;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}

export function boundedEncode(text: string): number[] {
  return slices(text).flatMap((s) => encode(s, PLAIN_TEXT));
}

export function boundedCount(text: string): number {
  let n = 0;
  for (const s of slices(text)) n += s.length === 0 ? 0 : countTokens(s, PLAIN_TEXT);
  return n;
}
