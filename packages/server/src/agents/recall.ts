import type { Message } from '@warbler/protocol';
import { queryTerms, searchTerms } from '../kb/index.ts';
import { messageText } from './triggers.ts';

// A summary keeps the gist of folded turns, and a model writing it may still
// drop the one order number a customer asks about forty turns later. So when
// a question shares rare words with turns the summary folded away, those
// turns are quoted back into the prompt, word for word. Lexical, like the
// knowledge search (same terms: stems, CJK bigrams), and free: no model call.

export interface RecallOptions {
  /** Most messages quoted. Default 3. */
  max?: number;
  /** Share of the question's weight a message must match to be quoted. Default 0.25. */
  minShare?: number;
}

/** A single shared term recalls a message only if it is a code or number that at most this many earlier messages have. */
const RARE_DF = 3;

/**
 * The earlier messages that best match `question`, oldest first: scored by
 * the inverse document frequency of the question's terms they contain, so a
 * word every turn uses ("order", "订单") weighs little and a rare one (a
 * name, a code, "发票") weighs much. Terms in more than half the messages
 * are ignored.
 */
export function recallEarlier(question: string, earlier: readonly Message[], options: RecallOptions = {}): Message[] {
  const max = options.max ?? 3;
  const minShare = options.minShare ?? 0.25;
  const wanted = queryTerms(question);
  if (wanted.length === 0 || earlier.length === 0 || max <= 0) return [];
  const docs = earlier.map((m) => new Set(searchTerms(messageText(m))));
  const idf = new Map<string, number>();
  const rare = new Set<string>();
  for (const term of wanted) {
    const df = docs.reduce((n, d) => n + (d.has(term) ? 1 : 0), 0);
    if (df > 0 && df <= docs.length / 2) idf.set(term, Math.log(1 + docs.length / df));
    if (df > 0 && df <= RARE_DF) rare.add(term);
  }
  if (idf.size === 0) return [];
  // The weight of the question's terms found anywhere: a question mostly about new things recalls nothing.
  const weight = [...idf.values()].reduce((a, b) => a + b, 0) + wanted.filter((t) => !idf.has(t)).length * 0.25;
  const scored = docs
    .map((terms, i) => {
      const shared = [...idf.keys()].filter((t) => terms.has(t));
      return { i, shared, score: shared.reduce((n, t) => n + idf.get(t)!, 0) };
    })
    // One word in common is chance; two words, or one rare code or number ("WB-58213", "4417"), is a reference.
    .filter((s) => s.score >= minShare * weight && (s.shared.length >= 2 || (s.shared.length === 1 && rare.has(s.shared[0]!) && /\d/.test(s.shared[0]!))))
    // Best first; among equals the later message, which is more likely the one that still holds.
    .sort((a, b) => b.score - a.score || b.i - a.i)
    .slice(0, max);
  return scored.sort((a, b) => a.i - b.i).map((s) => earlier[s.i]!);
}

/** The recalled messages as a block for the prompt; empty when there are none. */
export function recalledBlock(messages: readonly Message[], who: (m: Message) => string, maxChars = 500): string {
  if (messages.length === 0) return '';
  const lines = messages.map((m) => {
    const text = messageText(m).replace(/\s+/g, ' ').trim();
    return `- ${who(m)}: ${text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text}`;
  });
  return `Earlier in this conversation (older turns, quoted because the new message may refer to them):\n${lines.join('\n')}`;
}
