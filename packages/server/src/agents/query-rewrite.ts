import type { ChatMessage } from '../llm/index.ts';

/** At most this many search queries come out of one rewrite. */
export const MAX_QUERIES = 3;
/** The rewrite runs before the first token of the answer: past this, the raw question is searched instead. */
export const REWRITE_TIMEOUT_MS = 4_000;
/** Enough for three short queries; a model that rambles is cut here and its first lines used. */
export const REWRITE_MAX_TOKENS = 120;
/** The recent turns that give a follow-up ("and for Word files?") its subject. */
export const REWRITE_TURNS = 6;

export interface Turn {
  role: 'user' | 'assistant';
  text: string;
}

const INSTRUCTIONS = [
  'You turn a chat user\'s latest question into search queries for a keyword and semantic search over a company knowledge base.',
  `Write 1 to ${MAX_QUERIES} short queries, one per line, nothing else: no numbering, no quotes, no explanations.`,
  'Resolve what the question refers to from the conversation (a follow-up names its subject in full).',
  'Use the words the documents would likely use; add a synonym or the formal term where the user\'s wording is casual.',
  'Keep the language of the question; for a question in Chinese you may add one query in English when the product terms are English.',
].join(' ');

/**
 * The short non-streaming request that turns the latest question (with the
 * recent turns for context) into search queries. Turns are quoted as data in
 * the user message, not replayed as chat turns, so the model does not answer
 * them.
 */
export function rewriteRequest(question: string, recent: readonly Turn[]): ChatMessage[] {
  const turns = recent
    .slice(-REWRITE_TURNS)
    .map((t) => `${t.role === 'user' ? 'User' : 'Assistant'}: ${clip(t.text, 600)}`)
    .join('\n');
  const body = (turns ? `Conversation so far:\n${turns}\n\n` : '') + `Latest question:\n${clip(question, 2_000)}\n\nSearch queries:`;
  return [
    { role: 'system', content: INSTRUCTIONS },
    { role: 'user', content: body },
  ];
}

/**
 * The queries in a rewrite's answer: one per line (a JSON array of strings is
 * read too), list markers and quotes taken off, duplicates and the question
 * itself dropped, at most MAX_QUERIES. Empty when nothing usable came back.
 */
export function parseQueries(answer: string, question: string): string[] {
  let lines: string[];
  const trimmed = answer.trim();
  try {
    const parsed: unknown = JSON.parse(trimmed);
    lines = Array.isArray(parsed) ? parsed.filter((q): q is string => typeof q === 'string') : [];
  } catch {
    lines = trimmed.split('\n');
  }
  const seen = new Set([normal(question)]);
  const out: string[] = [];
  for (const raw of lines) {
    const query = raw
      .trim()
      .replace(/^(?:[-*•]|\d+[.)、]|queries?:|search queries:)\s*/i, '')
      .replace(/^["'“”「]+|["'“”」]+$/g, '')
      .trim();
    if (!query || query.length > 300 || seen.has(normal(query))) continue;
    seen.add(normal(query));
    out.push(query);
    if (out.length === MAX_QUERIES) break;
  }
  return out;
}

function normal(text: string): string {
  return text.toLowerCase().replace(/[\s\p{P}]+/gu, ' ').trim();
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
