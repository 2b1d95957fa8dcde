// The lexical support score: how much of an answer's content the retrieved
// passages back. It runs on every judged turn at no cost; a judge model, when
// one is configured, adds its own verdict beside it (judge.ts).

const STOPWORDS = new Set(
  ('the a an and or but if then of to in on at by for with from as is are was were be been being it its this that these those ' +
    'you your we our they their he she his her i me my can could would should will shall may might must do does did done have has had ' +
    'not no yes so than too very just also about into over under up down out there here what which who whom how when where why all any ' +
    'each some more most other such only own same both few again once please thanks thank hello hi sorry').split(' '),
);

/** Content words of a text: Latin words of 3+ letters outside the stopwords, digits, and CJK character pairs. */
export function contentTokens(text: string): string[] {
  const out: string[] = [];
  const lower = text.toLowerCase().replace(/\[\d{1,2}\]/g, ' ');
  for (const m of lower.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = m[0];
    if (/\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}/u.test(word)) {
      const chars = [...word];
      if (chars.length === 1) out.push(word);
      for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
    } else if (/^\p{N}+$/u.test(word) || (word.length >= 3 && !STOPWORDS.has(word))) {
      out.push(word);
    }
  }
  return out;
}

export interface Grounding {
  /** Share of the answer's content tokens found in the passages (0..1); null when nothing was retrieved or the answer has no content. */
  support: number | null;
  /** The answer cites a passage by [n] that exists. */
  cited: boolean;
}

export function lexicalGrounding(answer: string, passages: readonly string[]): Grounding {
  const cited = [...answer.matchAll(/\[(\d{1,2})\]/g)].some((m) => Number(m[1]) >= 1 && Number(m[1]) <= passages.length);
  if (passages.length === 0) return { support: null, cited };
  const tokens = contentTokens(answer);
  if (tokens.length === 0) return { support: null, cited };
  const known = new Set(passages.flatMap(contentTokens));
  let backed = 0;
  for (const t of tokens) if (known.has(t)) backed++;
  return { support: backed / tokens.length, cited };
}
