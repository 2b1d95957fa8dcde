// The judge model: does an answer stay within the retrieved passages, and
// which of two answers is better. A judge prefers whichever answer it reads
// first (or second) more often than chance, so each pair is asked in both
// orders and counts only when both orders agree; otherwise it is a tie.
import type { ChatMessage } from '../llm/index.ts';

/** Asks the judge model one question; resolves with its text and what the call cost (nano-USD). */
export type AskJudge = (messages: ChatMessage[]) => Promise<{ text: string; usdNanos: number }>;

const MAX_QUOTE = 6_000;
const clip = (text: string) => (text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text);

export function groundingPrompt(question: string, passages: readonly string[], answer: string): ChatMessage[] {
  return [
    {
      role: 'system',
      content:
        'You check whether an answer is supported by the numbered passages. Reply with one word: SUPPORTED if every factual claim ' +
        'of the answer is backed by the passages, UNSUPPORTED otherwise.',
    },
    { role: 'user', content: `Passages:\n${passages.map((p, i) => `[${i + 1}] ${clip(p)}`).join('\n')}\n\nQuestion:\n${clip(question)}\n\nAnswer:\n${clip(answer)}` },
  ];
}

export function preferencePrompt(question: string, first: string, second: string): ChatMessage[] {
  return [
    {
      role: 'system',
      content:
        'You compare two answers to a customer\'s question for correctness, helpfulness and staying within known facts. ' +
        'Reply with one word: A if answer A is better, B if answer B is better, TIE if neither is clearly better.',
    },
    { role: 'user', content: `Question:\n${clip(question)}\n\n[Answer A]\n${clip(first)}\n\n[Answer B]\n${clip(second)}` },
  ];
}

/** The judge's word; anything else is read as no verdict. */
export function readVerdict(text: string): 'A' | 'B' | 'TIE' | undefined {
  const word = text.trim().toUpperCase().match(/^[*"'\s]*(TIE|A|B)\b/);
  return word ? (word[1] as 'A' | 'B' | 'TIE') : undefined;
}

export async function judgeGrounding(ask: AskJudge, question: string, passages: readonly string[], answer: string) {
  const { text, usdNanos } = await ask(groundingPrompt(question, passages, answer));
  const t = text.trim().toUpperCase();
  const grounded = t.startsWith('SUPPORTED') ? true : t.startsWith('UNSUPPORTED') ? false : null;
  return { grounded, usdNanos };
}

/**
 * 1 when the candidate's answer wins in both orders, -1 when the live one
 * does, 0 for a tie or a split; null when the judge gave no verdict.
 */
export async function judgePreference(ask: AskJudge, question: string, live: string, candidate: string) {
  const [a, b] = await Promise.all([ask(preferencePrompt(question, live, candidate)), ask(preferencePrompt(question, candidate, live))]);
  const usdNanos = a.usdNanos + b.usdNanos;
  const liveFirst = readVerdict(a.text);
  const candidateFirst = readVerdict(b.text);
  if (!liveFirst || !candidateFirst) return { preference: null, usdNanos };
  const candidateWins = liveFirst === 'B' && candidateFirst === 'A';
  const liveWins = liveFirst === 'A' && candidateFirst === 'B';
  return { preference: candidateWins ? 1 : liveWins ? -1 : 0, usdNanos };
}
