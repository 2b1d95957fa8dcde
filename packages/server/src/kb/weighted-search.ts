/**
 * The parts of MiniSearch's index that a weighted BM25 search reads. They are
 * private in MiniSearch 7; weighted-search.test.ts compares this scorer with
 * MiniSearch's own search, so an upgrade that moves them fails a test rather
 * than ranking quietly wrong.
 */
interface Internals {
  _index: { get(term: string): Map<number, Map<number, number>> | undefined };
  _fieldIds: Record<string, number>;
  _fieldLength: Map<number, number[]>;
  _avgFieldLength: number[];
  _documentCount: number;
  _documentIds: Map<number, string>;
  _nextId: number;
}

export interface WeightedQueryTerm {
  term: string;
  weight: number;
}

export interface WeightedHit {
  /** MiniSearch's id of the document (here: the index entry's key). */
  id: string;
  score: number;
  /** The total weight of the query terms the passage contains. */
  matched: number;
}

// MiniSearch's defaults (BM25+): the same figures keep both paths ranking alike.
const K = 1.2;
const B = 0.7;
const D = 0.5;

/**
 * BM25 over MiniSearch's postings for a list of weighted terms, scored as
 * MiniSearch scores a search with boostTerm, except that a passage's sum is
 * multiplied by the total weight of the terms it matched rather than by their
 * number (so an added term at 0.3 counts 0.3, not 1).
 *
 * Why not MiniSearch's search: at 100,000 chunks a handful of common
 * character bigrams match most passages, and MiniSearch builds an object
 * with term and field lists for every match, filters and sorts them all
 * (seconds per expanded query). Here scores go into typed arrays indexed by
 * MiniSearch's short ids and only the best `limit` in-scope passages are kept,
 * in a small heap; terms are scored rarest first, and once nothing the
 * remaining (common) terms could add lifts a passage no rarer term reached
 * into the best `limit`, those terms only update the passages already found
 * (max-score), so a common bigram's 50,000 postings are not walked. The
 * result is exact. `maxShare` drops a term that occurs in more than that share
 * of passages (unless it is the only term): such a term carries almost no idf
 * and costs the most postings.
 */
export class WeightedSearcher {
  private score = new Float64Array(0);
  private matched = new Float64Array(0);
  private stamp = new Int32Array(0);
  private generation = 0;
  private termSeen = new Int32Array(0);
  private termCounter = 0;
  private norms: Float64Array[] | undefined;
  private normsKey = '';

  constructor(
    /** A MiniSearch instance; typed loosely because its internals are read, not its API. */
    private readonly miniSearch: object,
    private readonly boosts: Readonly<Record<string, number>>,
  ) {}

  private get internals(): Internals {
    return this.miniSearch as unknown as Internals;
  }

  /** In how many passages the term occurs (the largest of its fields). */
  documentFrequency(term: string): number {
    const byField = this.internals._index.get(term);
    if (!byField) return 0;
    let df = 0;
    for (const docs of byField.values()) df = Math.max(df, docs.size);
    return df;
  }

  get passageCount(): number {
    return this.internals._documentCount;
  }

  search(terms: readonly WeightedQueryTerm[], limit: number, inScope: (id: string) => boolean, options: { maxShare?: number } = {}): WeightedHit[] {
    const ix = this.internals;
    const n = ix._documentCount;
    if (!n || !terms.length || limit <= 0) return [];
    this.ensureCapacity(ix._nextId);
    const gen = this.nextGeneration();
    const { score, matched, stamp, termSeen } = this;
    const touched: number[] = [];
    const maxDf = options.maxShare !== undefined && terms.length > 1 ? Math.max(1, options.maxShare * n) : Infinity;
    const plan = this.plan(terms, n, maxDf);
    // What the terms not yet scored can add at most, to a passage's sum and to its matched weight.
    const restBound: number[] = [];
    const restWeight: number[] = [];
    for (let j = plan.length - 1, b = 0, w = 0; j >= 0; j--) {
      b += plan[j]!.bound;
      w += plan[j]!.weight;
      restBound[j] = b;
      restWeight[j] = w;
    }
    let candidatesOnly = false;
    const norms = this.lengthNorms();
    for (let j = 0; j < plan.length; j++) {
      const { weight, fields, largest } = plan[j]!;
      // Max-score (Turtle and Flood, 1995): once the best `limit` so far beat anything the remaining terms
      // could give a passage none of the earlier terms reached, those terms only add to passages already found.
      if (!candidatesOnly && touched.length >= limit && largest > touched.length) {
        candidatesOnly = restBound[j]! * restWeight[j]! < this.kthBest(touched, limit, inScope);
      }
      // A term adds its weight to a passage's matched weight once, whichever of its fields it is in.
      const termId = this.nextTermId();
      for (const { fieldId, postings, w } of fields) {
        const norm = norms[fieldId]!;
        if (!candidatesOnly || postings.size <= touched.length) {
          for (const [doc, tf] of postings) {
            // A discarded document's postings linger until MiniSearch vacuums; its norm is -1.
            const nm = norm[doc]!;
            if (nm < 0) continue;
            if (stamp[doc] !== gen) {
              if (candidatesOnly) continue;
              stamp[doc] = gen;
              score[doc] = 0;
              matched[doc] = 0;
              touched.push(doc);
            }
            score[doc]! += w * (D + (tf * (K + 1)) / (tf + nm));
            if (termSeen[doc] !== termId) {
              termSeen[doc] = termId;
              matched[doc]! += weight;
            }
          }
        } else {
          for (const doc of touched) {
            const tf = postings.get(doc);
            if (tf === undefined) continue;
            score[doc]! += w * (D + (tf * (K + 1)) / (tf + norm[doc]!));
            if (termSeen[doc] !== termId) {
              termSeen[doc] = termId;
              matched[doc]! += weight;
            }
          }
        }
      }
    }
    return this.best(touched, limit, inScope);
  }

  /** The terms to score, the most a match on each can add first. */
  private plan(terms: readonly WeightedQueryTerm[], n: number, maxDf: number) {
    const ix = this.internals;
    const plan = [];
    for (const { term, weight } of terms) {
      const byField = ix._index.get(term);
      if (!byField || weight <= 0 || this.documentFrequency(term) > maxDf) continue;
      const fields = [];
      let bound = 0;
      let largest = 0;
      for (const [field, boost] of Object.entries(this.boosts)) {
        const fieldId = ix._fieldIds[field];
        const postings = fieldId === undefined ? undefined : byField.get(fieldId);
        if (!postings?.size) continue;
        const df = postings.size;
        const w = weight * boost * Math.log(1 + (n - df + 0.5) / (df + 0.5));
        fields.push({ fieldId: fieldId!, postings, w });
        // tf / (tf + K·norm) < 1, so a field adds less than w·(D + K + 1).
        bound += w * (D + K + 1);
        largest = Math.max(largest, df);
      }
      if (fields.length) plan.push({ weight, fields, bound, largest });
    }
    return plan.sort((a, b) => b.bound - a.bound);
  }

  /**
   * K·(1 − B + B·length/average) per field and passage, by short id (−1 for
   * none): the length part of BM25, read once per posting. Rebuilt when the
   * index has changed since (any add or discard moves the count or next id).
   */
  private lengthNorms(): Float64Array[] {
    const ix = this.internals;
    const key = `${ix._nextId}:${ix._documentCount}`;
    if (this.norms && this.normsKey === key) return this.norms;
    const fieldCount = Object.keys(ix._fieldIds).length;
    const norms = Array.from({ length: fieldCount }, () => new Float64Array(ix._nextId).fill(-1));
    for (const [doc, lengths] of ix._fieldLength) {
      for (let f = 0; f < fieldCount; f++) norms[f]![doc] = K * (1 - B + (B * (lengths[f] ?? 0)) / (ix._avgFieldLength[f] || 1));
    }
    this.norms = norms;
    this.normsKey = key;
    return norms;
  }

  /** The `limit`-th best in-scope score so far (0 when there are fewer). */
  private kthBest(touched: readonly number[], limit: number, inScope: (id: string) => boolean): number {
    const best = this.best(touched, limit, inScope);
    return best.length === limit ? best[limit - 1]!.score : 0;
  }

  private best(touched: readonly number[], limit: number, inScope: (id: string) => boolean): WeightedHit[] {
    // A min-heap of the best `limit`: the scope check (a map lookup) runs only for passages good enough to enter it.
    const heap: { doc: number; score: number }[] = [];
    const ids = this.internals._documentIds;
    for (const doc of touched) {
      const s = this.score[doc]! * this.matched[doc]!;
      if (heap.length === limit && s <= heap[0]!.score) continue;
      const id = ids.get(doc);
      if (id === undefined || !inScope(id)) continue;
      if (heap.length < limit) heapPush(heap, { doc, score: s });
      else heapReplaceTop(heap, { doc, score: s });
    }
    return heap.sort((a, b) => b.score - a.score).map((h) => ({ id: ids.get(h.doc)!, score: h.score, matched: this.matched[h.doc]! }));
  }

  private ensureCapacity(size: number): void {
    if (this.score.length >= size) return;
    const grown = Math.max(size, this.score.length * 2, 1024);
    this.score = new Float64Array(grown);
    this.matched = new Float64Array(grown);
    this.stamp = new Int32Array(grown);
    this.termSeen = new Int32Array(grown);
    this.generation = 0;
    this.termCounter = 0;
  }

  private nextTermId(): number {
    if (this.termCounter === 0x7fffffff) {
      this.termSeen.fill(0);
      this.termCounter = 0;
    }
    return ++this.termCounter;
  }

  private nextGeneration(): number {
    if (this.generation === 0x7fffffff) {
      this.stamp.fill(0);
      this.generation = 0;
    }
    return ++this.generation;
  }
}

function heapPush(heap: { doc: number; score: number }[], item: { doc: number; score: number }): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.score <= heap[i]!.score) break;
    [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
    i = parent;
  }
}

function heapReplaceTop(heap: { doc: number; score: number }[], item: { doc: number; score: number }): void {
  heap[0] = item;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && heap[l]!.score < heap[m]!.score) m = l;
    if (r < heap.length && heap[r]!.score < heap[m]!.score) m = r;
    if (m === i) break;
    [heap[m], heap[i]] = [heap[i]!, heap[m]!];
    i = m;
  }
}
