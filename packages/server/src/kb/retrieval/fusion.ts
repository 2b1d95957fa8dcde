/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): each list
 * gives an item 1 / (k + rank); scores of different retrievers are never
 * compared, only their orders, so BM25's unbounded scores and cosines mix.
 * k = 60 is the paper's, and what Elasticsearch and Azure AI Search use.
 */
export function reciprocalRankFusion<T>(lists: readonly (readonly T[])[], keyOf: (item: T) => string, k = 60): { item: T; score: number }[] {
  const fused = new Map<string, { item: T; score: number }>();
  for (const list of lists) {
    list.forEach((item, rank) => {
      const key = keyOf(item);
      const entry = fused.get(key) ?? { item, score: 0 };
      entry.score += 1 / (k + rank + 1);
      fused.set(key, entry);
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
