import { stem } from './stem.ts';
import { segments } from './text.ts';

/**
 * The search terms of a text, for indexing and querying alike. Chinese has no
 * spaces, so ICU's dictionary word segmentation alone misses words it splits
 * differently in a document and in a question (退货 vs 退|货); overlapping
 * character bigrams of every CJK run catch those, and dictionary words of three
 * or more characters add precision. Latin-script words are lowercased, stripped
 * of punctuation and lightly stemmed. Stopwords go first, so a question's
 * filler ("what is", "是什么") neither matches nor glues bigrams together.
 */
export function searchTerms(text: string): string[] {
  const terms: string[] = [];
  let run: string[] = [];
  const endRun = () => {
    terms.push(...runTerms(run));
    run = [];
  };
  for (const { segment, isWordLike } of segments(text.normalize('NFKC').toLowerCase())) {
    if (!isWordLike) {
      endRun();
      continue;
    }
    if (CJK.test(segment)) {
      if (CJK_STOPWORDS.has(segment)) endRun();
      else run.push(segment);
      continue;
    }
    endRun();
    const term = latinTerm(segment);
    if (term) terms.push(term);
  }
  endRun();
  return terms;
}

/** The distinct terms of a question: repeating a word in a question should not weigh it more. */
export function queryTerms(text: string): string[] {
  return [...new Set(searchTerms(text))];
}

const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー]+$/u;

function runTerms(words: readonly string[]): string[] {
  const chars = Array.from(words.join(''));
  if (chars.length === 1) return chars;
  const terms: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) terms.push(chars[i]! + chars[i + 1]!);
  // Two-character words are already among the bigrams.
  for (const word of words) if (Array.from(word).length >= 3) terms.push(word);
  return terms;
}

function latinTerm(word: string): string | undefined {
  const clean = word
    .replace(/['’]s$/, '')
    .replace(/[^\p{L}\p{N}.]/gu, '')
    .replace(/^\.+|\.+$/g, '');
  if (!clean || EN_STOPWORDS.has(clean)) return undefined;
  return stem(clean);
}

const EN_STOPWORDS = new Set(
  ('a an and are as at be been but by can could do does did for from had has have how i if in into is it its ' +
    'me my of on or our so than that the their them then there these they this those to was we were what when ' +
    'where which who whom why will with would you your')
    .split(' '),
);

const CJK_STOPWORDS = new Set(
  ('的 了 着 过 是 在 和 与 及 或 吗 呢 吧 啊 呀 么 嘛 我 你 您 他 她 它 们 这 那 有 也 都 就 还 又 被 把 给 让 请 ' +
    '什么 怎么 怎样 怎么样 如何 为什么 为何 哪些 哪个 哪里 多少 我们 你们 他们 她们 它们 这个 那个 这些 那些 ' +
    '一个 一下 请问 是否 能否 可否 是不是 有没有')
    .split(' '),
);
