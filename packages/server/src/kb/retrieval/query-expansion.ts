import { queryTerms, searchTerms } from '../terms.ts';
import { SYNONYMS } from './synonyms.ts';

/** A search term and how much a match on it counts (1 for the customer's own words). */
export interface WeightedTerm {
  term: string;
  weight: number;
}

/** How much a synonym's match counts beside a word the customer used. */
export const SYNONYM_WEIGHT = 0.4;

const LATIN = /^[a-z0-9.+-]+$/;

/**
 * The question's own terms at weight 1, plus the terms of synonyms of words
 * found in it at SYNONYM_WEIGHT. Chinese has no spaces, so a group word is
 * looked for inside the text; a Latin word must stand alone. Single-character
 * words are only added, never looked for: 网 or 丢 inside a longer word would
 * fire on too much.
 */
export function expandQuery(query: string): WeightedTerm[] {
  const own = queryTerms(query);
  const terms = new Map<string, number>(own.map((t) => [t, 1]));
  const text = query.normalize('NFKC').toLowerCase();
  const latinWords = new Set(text.match(/[a-z0-9.+-]+/g) ?? []);
  for (const [word, others] of SYNONYMS) {
    const found = LATIN.test(word) ? latinWords.has(word) : Array.from(word).length >= 2 && text.includes(word);
    if (!found) continue;
    for (const other of others) {
      for (const term of queryTerms(other)) if (!terms.has(term)) terms.set(term, SYNONYM_WEIGHT);
    }
  }
  return [...terms].map(([term, weight]) => ({ term, weight }));
}

/** What pseudo-relevance feedback needs of an index. */
export interface FeedbackSource<P extends FeedbackPassage = FeedbackPassage> {
  /** The passages a weighted query finds, best first. */
  searchWeighted(terms: readonly WeightedTerm[], limit: number): P[];
  /** In how many passages a term occurs, and how many passages there are. */
  documentFrequency(term: string): number;
  readonly passageCount: number;
}

export interface FeedbackPassage {
  chunk: { title: string; heading_path: readonly string[]; text: string };
  score: number;
}

/** How many first-pass passages feed back, how many of their terms join the query, and at what weight at most. */
export const FEEDBACK = { passages: 3, terms: 10, weight: 0.3 } as const;

/**
 * Pseudo-relevance feedback after RM3 (Lavrenko and Croft; Abdul-Jaleel et
 * al., 2004): the terms that weigh most in the passages a first search ranks
 * highest, weighted by those passages' scores and by rarity (idf), join the
 * query at up to FEEDBACK.weight. It learns the knowledge base's own words for
 * what the customer said: no model, no download. Measured in decision 0018.
 */
export function feedbackTerms(source: FeedbackSource, query: readonly WeightedTerm[]): WeightedTerm[] {
  const first = source.searchWeighted(query, FEEDBACK.passages);
  if (!first.length) return [];
  const best = first[0]!.score || 1;
  const weights = new Map<string, number>();
  const n = source.passageCount;
  const asked = new Set(query.map((t) => t.term));
  for (const { chunk, score } of first) {
    const terms = queryTermsWithCounts(`${chunk.title} ${chunk.heading_path.join(' ')} ${chunk.text}`);
    for (const [term, count] of terms.counts) {
      if (asked.has(term)) continue;
      const df = source.documentFrequency(term);
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      weights.set(term, (weights.get(term) ?? 0) + (count / terms.total) * (score / best) * idf);
    }
  }
  const top = [...weights].sort((a, b) => b[1] - a[1]).slice(0, FEEDBACK.terms);
  const max = top[0]?.[1] || 1;
  return top.map(([term, w]) => ({ term, weight: (FEEDBACK.weight * w) / max }));
}

function queryTermsWithCounts(text: string): { counts: Map<string, number>; total: number } {
  const all = searchTerms(text);
  const counts = new Map<string, number>();
  for (const t of all) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { counts, total: all.length || 1 };
}

/** How much the added terms (synonyms, feedback) can weigh at most, as a share of the best match on the question's own words. */
export const EXPANSION_SHARE = 0.3;

/**
 * The question's own words rank first; synonyms and feedback terms, searched
 * apart, add up to EXPANSION_SHARE of the best own-word score. Kept apart
 * because a BM25 score has no ceiling: one rare added term (a document's
 * number, say) would otherwise outweigh every word the customer wrote, and
 * feedback drifts to whatever the first pass happened to rank third.
 */
export function expandedSearch<P extends FeedbackPassage & { chunk: { id: string } }>(source: FeedbackSource<P>, query: string, limit: number): P[] {
  const pool = Math.max(limit, 50);
  const asked = expandQuery(query);
  const ownTerms = asked.filter((t) => t.weight === 1);
  const own = source.searchWeighted(ownTerms, pool);
  const added = [...asked.filter((t) => t.weight !== 1), ...feedbackTerms(source, asked)];
  const extra = added.length ? source.searchWeighted(added, pool) : [];
  if (!own.length) return extra.slice(0, limit);
  const scale = extra.length ? (EXPANSION_SHARE * own[0]!.score) / extra[0]!.score : 0;
  const byId = new Map<string, P>();
  for (const p of own) byId.set(p.chunk.id, { ...p });
  for (const p of extra) {
    const seen = byId.get(p.chunk.id);
    if (seen) seen.score += p.score * scale;
    else byId.set(p.chunk.id, { ...p, score: p.score * scale });
  }
  return [...byId.values()].sort((a, b) => b.score - a.score).slice(0, limit);
}
