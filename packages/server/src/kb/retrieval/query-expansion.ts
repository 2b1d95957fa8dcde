import { queryTerms, searchTerms } from '../terms.ts';
import { ARTICLE_WEIGHT } from './article-view.ts';
import { SYNONYMS } from './synonyms.ts';

/** A search term and how much a match on it counts (1 for the customer's own words). */
export interface WeightedTerm {
  term: string;
  weight: number;
  /** Added to the question (a synonym or a feedback term), not the customer's own word. */
  added?: boolean;
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
  const added = new Set<string>();
  const text = query.normalize('NFKC').toLowerCase();
  const latinWords = new Set(text.match(/[a-z0-9.+-]+/g) ?? []);
  for (const [word, others] of SYNONYMS) {
    const found = LATIN.test(word) ? latinWords.has(word) : Array.from(word).length >= 2 && text.includes(word);
    if (!found) continue;
    for (const other of others) {
      for (const term of queryTerms(other)) {
        if (terms.has(term)) continue;
        terms.set(term, SYNONYM_WEIGHT);
        added.add(term);
      }
    }
  }
  return [...terms].map(([term, weight]) => (added.has(term) ? { term, weight, added: true } : { term, weight }));
}

/** What pseudo-relevance feedback needs of an index. */
export interface FeedbackSource<P extends FeedbackPassage = FeedbackPassage> {
  /** The passages a weighted query finds, best first; `maxShare` drops terms found in more than that share of passages. */
  searchWeighted(terms: readonly WeightedTerm[], limit: number, options?: { maxShare?: number }): P[];
  /** In how many passages a term occurs, and how many passages there are. */
  documentFrequency(term: string): number;
  readonly passageCount: number;
}

export interface FeedbackPassage {
  chunk: { title: string; heading_path: readonly string[]; text: string };
  score: number;
  /** The total weight of the searched terms this passage contains, when the index tells. */
  matched?: number;
}

/** How many first-pass passages feed back, how many of their terms join the query, and at what weight at most. */
export const FEEDBACK: FeedbackParams = { passages: 3, terms: 10, weight: 0.3 };

/**
 * Pseudo-relevance feedback after RM3 (Lavrenko and Croft; Abdul-Jaleel et
 * al., 2004): the terms that weigh most in the passages a first search ranks
 * highest, weighted by those passages' scores and by rarity (idf), join the
 * query at up to FEEDBACK.weight. It learns the knowledge base's own words for
 * what the customer said: no model, no download. Measured in decision 0018.
 */
export function feedbackTerms(
  source: FeedbackSource,
  query: readonly WeightedTerm[],
  params: FeedbackParams = FEEDBACK,
  first: readonly FeedbackPassage[] = source.searchWeighted(query, params.passages),
): WeightedTerm[] {
  const top = first.slice(0, params.passages);
  if (!top.length) return [];
  const best = top[0]!.score || 1;
  const weights = new Map<string, number>();
  const n = source.passageCount;
  const asked = new Set(query.map((t) => t.term));
  for (const { chunk, score } of top) {
    const terms = queryTermsWithCounts(`${chunk.title} ${chunk.heading_path.join(' ')} ${chunk.text}`);
    for (const [term, count] of terms.counts) {
      if (asked.has(term)) continue;
      const df = source.documentFrequency(term);
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      weights.set(term, (weights.get(term) ?? 0) + (count / terms.total) * (score / best) * idf);
    }
  }
  const chosen = [...weights].sort((a, b) => b[1] - a[1]).slice(0, params.terms);
  const max = chosen[0]?.[1] || 1;
  return chosen.map(([term, w]) => ({ term, weight: (params.weight * w) / max }));
}

export interface FeedbackParams {
  passages: number;
  terms: number;
  weight: number;
}

function queryTermsWithCounts(text: string): { counts: Map<string, number>; total: number } {
  const all = searchTerms(text);
  const counts = new Map<string, number>();
  for (const t of all) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { counts, total: all.length || 1 };
}

/** How much the added terms (synonyms, feedback) can weigh at most, as a share of the best match on the question's own words. */
export const EXPANSION_SHARE = 0.3;

/** The choices of an expanded search; DEFAULT_EXPANSION holds the measured best (docs/benchmarks.md, decision 0031). */
export interface ExpansionOptions {
  /** Add the shipped synonyms (synonyms.ts). */
  synonyms: boolean;
  /** Pseudo-relevance feedback, or null for none. */
  feedback: FeedbackParams | null;
  /** Feed back from the first pass on the question's own words (no extra search) or from a pass that includes the synonyms. */
  feedbackFrom: 'own' | 'asked';
  /**
   * Feed back only when the best passage on the question's own words holds
   * less than this share of them (a weak first pass); above 1: always.
   * A title or heading asked word for word is then found whole and left alone.
   */
  feedbackBelow: number;
  /** The added terms' best score as a share of the best own-word score. */
  share: number;
  /** Added terms in more than this share of passages are skipped (while other added terms are left): little idf, most of the cost. */
  maxShare: number | undefined;
  /** The weight of the article view (whole documents, decision 0034) against the passages; 0 turns it off. Applied by the index, which holds that view. */
  articleWeight: number;
}

/**
 * Synonyms and feedback on every question, added terms found in more than a
 * fifth of the passages left out (decision 0031). Feedback only after a weak
 * first pass (feedbackBelow 0.95) measured as well on kb-eval without
 * feedback's small cost on section queries, but it loses the built-in guide's
 * "Which file types can I add to a knowledge base?" (seed.test.ts), whose
 * first pass holds every word in the wrong section.
 */
export const DEFAULT_EXPANSION: ExpansionOptions = { synonyms: true, feedback: FEEDBACK, feedbackFrom: 'asked', feedbackBelow: 2, share: EXPANSION_SHARE, maxShare: 0.2, articleWeight: ARTICLE_WEIGHT };

/**
 * The question's own words rank first; synonyms and feedback terms, searched
 * apart, add up to `share` (EXPANSION_SHARE) of the best own-word score. Kept
 * apart because a BM25 score has no ceiling: one rare added term (a document's
 * number, say) would otherwise outweigh every word the customer wrote, and
 * feedback drifts to whatever the first pass happened to rank third.
 */
export function expandedSearch<P extends FeedbackPassage & { chunk: { id: string } }>(
  source: FeedbackSource<P>,
  query: string,
  limit: number,
  choices: Partial<ExpansionOptions> = {},
): P[] {
  const o = { ...DEFAULT_EXPANSION, ...choices };
  const pool = Math.max(limit, 50);
  const all = expandQuery(query);
  const asked = o.synonyms ? all : all.filter((t) => !t.added);
  const ownTerms = asked.filter((t) => !t.added);
  const own = source.searchWeighted(ownTerms, pool);
  const ownWeight = ownTerms.reduce((sum, t) => sum + t.weight, 0) || 1;
  const weak = !own.length || (own[0]!.matched ?? 0) / ownWeight < o.feedbackBelow;
  const feedback = o.feedback && weak
    ? feedbackTerms(source, asked, o.feedback, o.feedbackFrom === 'own' ? own : source.searchWeighted(asked, o.feedback.passages))
    : [];
  const added = [...asked.filter((t) => t.added), ...feedback];
  const extra = added.length ? source.searchWeighted(added, pool, { maxShare: o.maxShare }) : [];
  if (!own.length) return extra.slice(0, limit);
  const scale = extra.length ? (o.share * own[0]!.score) / extra[0]!.score : 0;
  const byId = new Map<string, P>();
  for (const p of own) byId.set(p.chunk.id, { ...p });
  for (const p of extra) {
    const seen = byId.get(p.chunk.id);
    if (seen) seen.score += p.score * scale;
    else byId.set(p.chunk.id, { ...p, score: p.score * scale });
  }
  return [...byId.values()].sort((a, b) => b.score - a.score).slice(0, limit);
}
