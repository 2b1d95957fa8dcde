// Quick tuning loop for the offline default on customer questions (decision
// 0034): the kb-eval corpus indexed once, no vectors, no 100,000-chunk part.
// The 160 customer questions are split into two fixed halves by the parity of
// the article's position in the sorted file list: methods are
// tuned on the odd half ("tune") and reported on the even half ("held-out")
// too. Title, description and section queries are the no-regression sets.
//
//   node --import tsx bench/retrieval-halves.ts
//
// Last stdout line: one JSON object.
import MiniSearch from 'minisearch';
import { InMemoryKnowledgeIndex, type Chunk } from '../packages/server/src/kb/index.ts';
import { documentsOf, indexCorpus, jiebaBaseline, loadKbEval, score, synthesizeChunks, type EvalQuery, type Scores } from './lib/kb-eval.ts';
import { log } from './lib/util.ts';
import { queryTerms, searchTerms } from '../packages/server/src/kb/terms.ts';
import { expandQuery, feedbackTerms, DEFAULT_EXPANSION, type WeightedTerm } from '../packages/server/src/kb/retrieval/query-expansion.ts';

const corpus = loadKbEval();
if (!corpus) {
  console.log(JSON.stringify({ skipped: 'kb-eval corpus not found' }));
  process.exit(0);
}
const APP = 'bench';
const KB = 'kb-eval';
const { chunks, index: bm25 } = indexCorpus(corpus, APP, KB);
const { jiebaTerms, baseline } = jiebaBaseline(chunks);
const byId = new Map(chunks.map((c) => [c.id, c]));

const position = new Map(corpus.docs.map((d, i) => [d.file, i]));
const articleNumber = (doc: string) => position.get(doc)!;
const sets: Record<string, readonly EvalQuery[]> = {
  title: corpus.sets.title,
  desc: corpus.sets.desc,
  section: corpus.sets.section,
  paraphrase: corpus.sets.paraphrase,
  customer: corpus.sets.customer,
  customer_tune: corpus.sets.customer.filter((q) => articleNumber(q.doc) % 2 === 1),
  customer_held: corpus.sets.customer.filter((q) => articleNumber(q.doc) % 2 === 0),
};
log(`customer halves: tune ${sets.customer_tune!.length}, held-out ${sets.customer_held!.length}`);

type Ranker = (q: string) => string[];
type Scored = Map<string, number>;
// Document scores: the best passage's score, in rank order.
const docScores = (hits: { doc: string; score: number }[]): Scored => {
  const m = new Map<string, number>();
  for (const h of hits) if (!m.has(h.doc)) m.set(h.doc, h.score);
  return m;
};
const memo = <T>(f: (q: string) => T) => {
  const cache = new Map<string, T>();
  return (q: string) => cache.get(q) ?? (cache.set(q, f(q)), cache.get(q)!);
};
const jiebaDocs = memo((q) => docScores(baseline.search(q).slice(0, 100).map((r) => ({ doc: byId.get(r.id as string)!.document_id, score: r.score }))));
const expDocs = memo((q) => docScores(bm25.search(APP, q, { kbIds: [KB], limit: 100, expand: true, expansion: { articleWeight: 0 } }).map((p) => ({ doc: p.chunk.document_id, score: p.score }))));
const plainDocs = memo((q) => docScores(bm25.search(APP, q, { kbIds: [KB], limit: 100 }).map((p) => ({ doc: p.chunk.document_id, score: p.score }))));
const rrf = (k: number, weights: number[], lists: Scored[]) => {
  const s = new Map<string, number>();
  lists.forEach((l, i) => [...l.keys()].forEach((d, r) => s.set(d, (s.get(d) ?? 0) + weights[i]! / (k + r + 1))));
  return [...s].sort((a, b) => b[1] - a[1]).map(([d]) => d);
};
const interp = (weights: number[], lists: Scored[]) => {
  const s = new Map<string, number>();
  lists.forEach((l, i) => {
    const max = Math.max(...l.values(), 1e-9);
    for (const [d, v] of l) s.set(d, (s.get(d) ?? 0) + (weights[i]! * v) / max);
  });
  return [...s].sort((a, b) => b[1] - a[1]).map(([d]) => d);
};
// Whole articles as one BM25 document each: a customer's words are often spread over an article's passages.
const byDoc = new Map<string, Chunk[]>();
for (const c of chunks) byDoc.set(c.document_id, [...(byDoc.get(c.document_id) ?? []), c]);
const docIndex = new MiniSearch<{ id: string; title: string; text: string }>({ fields: ['title', 'text'], tokenize: searchTerms, processTerm: (t) => t, searchOptions: { tokenize: queryTerms, boost: { title: 1.5 } } });
docIndex.addAll([...byDoc].map(([id, cs]) => ({ id, title: cs[0]!.title, text: cs.map((c) => `${c.heading_path.join(' ')} ${c.text}`).join('\n') })));
const wholeDocs = memo((q) => new Map(docIndex.search(q).slice(0, 100).map((r) => [r.id as string, r.score] as const)));
const aggDocs = (n: number, decay: number) => memo((q) => {
  const per = new Map<string, number[]>();
  for (const p of bm25.search(APP, q, { kbIds: [KB], limit: 300, expand: true })) per.set(p.chunk.document_id, [...(per.get(p.chunk.document_id) ?? []), p.score]);
  return new Map([...per].map(([d, ss]) => [d, ss.slice(0, n).reduce((a, s, i) => a + s * decay ** i, 0)] as const).sort((a, b) => b[1] - a[1]));
});
const agg3 = aggDocs(3, 0.5);
const agg5 = aggDocs(5, 1);
// Term association learned from the passages: for each term, the chunks it occurs in.
const postings = new Map<string, number[]>();
const chunkTerms: Map<string, number>[] = chunks.map((c, i) => {
  const counts = new Map<string, number>();
  for (const t of searchTerms(`${c.title} ${c.heading_path.join(' ')} ${c.text}`)) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const t of counts.keys()) postings.set(t, [...(postings.get(t) ?? []), i]);
  return counts;
});
const N = chunks.length;
const df = (t: string) => postings.get(t)?.length ?? 0;
interface Assoc { k: number; weight: number; minCo: number; maxDf: number; mode: 'pmi' | 'cond' }
function associated(own: string[], o: Assoc): WeightedTerm[] {
  const score = new Map<string, number>();
  const asked = new Set(own);
  for (const t of own) {
    const ps = postings.get(t);
    if (!ps || ps.length < 2 || ps.length > o.maxDf * N) continue;
    const co = new Map<string, number>();
    for (const i of ps) for (const u of chunkTerms[i]!.keys()) if (!asked.has(u)) co.set(u, (co.get(u) ?? 0) + 1);
    for (const [u, c] of co) {
      if (c < o.minCo) continue;
      const du = df(u);
      if (du > 0.2 * N) continue;
      const v = o.mode === 'pmi' ? Math.log((N * c) / (ps.length * du)) * (c / ps.length) : (c / ps.length) * Math.log(1 + (N - du + 0.5) / (du + 0.5));
      if (v > 0) score.set(u, (score.get(u) ?? 0) + v);
    }
  }
  const top = [...score].sort((a, b) => b[1] - a[1]).slice(0, o.k);
  const max = top[0]?.[1] || 1;
  return top.map(([term, w]) => ({ term, weight: (o.weight * w) / max, added: true }));
}
const source = (bm25 as unknown as { feedbackSource(a: string, k: Set<string>): any }).feedbackSource(APP, new Set([KB]));
function assocScores(q: string, o: Assoc, withFeedback = true): Scored {
  const all = expandQuery(q);
  const ownTerms = all.filter((t) => !t.added);
  const own = source.searchWeighted(ownTerms, 100);
  const fb = withFeedback ? feedbackTerms(source, all, DEFAULT_EXPANSION.feedback!, source.searchWeighted(all, 3)) : [];
  const assoc = associated(ownTerms.map((t) => t.term), o);
  const added = [...all.filter((t) => t.added), ...fb, ...assoc];
  const extra = added.length ? source.searchWeighted(added, 100, { maxShare: 0.2 }) : [];
  const share = Number(process.env.SHARE ?? 0.3);
  const scale = extra.length && own.length ? (share * own[0].score) / extra[0].score : 1;
  const m = new Map<string, number>();
  for (const p of own) m.set(p.chunk.id, p.score);
  for (const p of extra) m.set(p.chunk.id, (m.get(p.chunk.id) ?? 0) + p.score * scale);
  return docScores([...m].sort((a, b) => b[1] - a[1]).map(([id, score]) => ({ doc: byId.get(id)!.document_id, score })));
}
function assocSearch(q: string, o: Assoc): string[] {
  return [...assocScores(q, o).keys()];
}
const assocDocs = memo((q) => assocScores(q, { k: 30, weight: 0.3, minCo: 2, maxDf: 0.05, mode: 'cond' }));
const jiebaDocIndex = new MiniSearch<{ id: string; title: string; text: string }>({ fields: ['title', 'text'], tokenize: jiebaTerms, processTerm: (t) => t, searchOptions: { boost: { title: 1.5 } } });
jiebaDocIndex.addAll([...byDoc].map(([id, cs]) => ({ id, title: cs[0]!.title, text: cs.map((c) => `${c.heading_path.join(' ')} ${c.text}`).join('\n') })));
const wholeJieba = memo((q) => new Map(jiebaDocIndex.search(q).slice(0, 100).map((r) => [r.id as string, r.score] as const)));
const rankers: Record<string, Ranker> = {
  whole_jieba: (q) => [...wholeJieba(q).keys()],
  ...Object.fromEntries(['pmi', 'cond'].flatMap((mode) => [10, 30].flatMap((k) => [0.3, 0.6].map((w) => [`assoc_${mode}_k${k}_w${w}`, (q: string) => assocSearch(q, { k, weight: w, minCo: 2, maxDf: 0.05, mode: mode as 'pmi' | 'cond' })])))),
  ...Object.fromEntries([0.2, 0.4].map((a) => [`interp${a}_whole_assoc`, (q: string) => interp([a, 1 - a], [wholeDocs(q), assocDocs(q)])])),
  ...Object.fromEntries([0.2, 0.4, 0.6].map((a) => [`interp${a}_wholejieba_exp`, (q: string) => interp([a, 1 - a], [wholeJieba(q), expDocs(q)])])),
  interp3_whole_exp_jieba: (q) => interp([0.4, 0.4, 0.2], [wholeDocs(q), expDocs(q), jiebaDocs(q)]),
  whole_doc: (q) => [...wholeDocs(q).keys()],
  agg3_half: (q) => [...agg3(q).keys()],
  agg5_sum: (q) => [...agg5(q).keys()],
  ...Object.fromEntries([0.2, 0.4, 0.6].map((a) => [`interp${a}_whole_exp`, (q: string) => interp([a, 1 - a], [wholeDocs(q), expDocs(q)])])),
  jieba_bm25: (q) => [...new Set(baseline.search(q).slice(0, 50).map((r) => byId.get(r.id as string)!.document_id))],
  bm25: (q) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50 })),
  bm25_expanded: (q) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50, expand: true })),
  ...Object.fromEntries([0, 0.1, 0.3, 0.4].map((w) => [`bm25_expanded_article${w}`, (q: string) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50, expand: true, expansion: { articleWeight: w } }))])),
  ...Object.fromEntries([10, 30, 60].map((k) => [`rrf${k}_jieba_exp`, (q: string) => rrf(k, [1, 1], [jiebaDocs(q), expDocs(q)])])),
  ...Object.fromEntries([10, 60].map((k) => [`rrf${k}_jieba_plain`, (q: string) => rrf(k, [1, 1], [jiebaDocs(q), plainDocs(q)])])),
  ...Object.fromEntries([0.3, 0.5, 0.7].map((a) => [`interp${a}_jieba_exp`, (q: string) => interp([a, 1 - a], [jiebaDocs(q), expDocs(q)])])),
};
const only = process.env.ONLY?.split(',');
const quality: Record<string, Record<string, Scores>> = {};
for (const [name, rank] of Object.entries(rankers)) {
  if (only && !only.includes(name)) continue;
  quality[name] = {};
  for (const [set, queries] of Object.entries(sets)) if (!process.env.CUSTOMER_ONLY || set.startsWith('customer')) quality[name]![set] = score(queries, rank);
  const q = quality[name]!;
  if (process.env.CUSTOMER_ONLY) log(`${name.padEnd(28)} cust R1/R5 ${q.customer!.recall_at_1}/${q.customer!.recall_at_5} tune ${q.customer_tune!.recall_at_1}/${q.customer_tune!.recall_at_5} held ${q.customer_held!.recall_at_1}/${q.customer_held!.recall_at_5}`);
  else log(`${name.padEnd(22)} title ${q.title!.recall_at_1} desc ${q.desc!.recall_at_1} section ${q.section!.recall_at_1} | cust R1/R5 ${q.customer!.recall_at_1}/${q.customer!.recall_at_5} tune ${q.customer_tune!.recall_at_1}/${q.customer_tune!.recall_at_5} held ${q.customer_held!.recall_at_1}/${q.customer_held!.recall_at_5} | para ${q.paraphrase!.recall_at_5}`);
}
console.log(JSON.stringify({ bench: 'retrieval-halves', quality }));

// HALVES_SCALE=100000: query latency of the default (with the article view) and without it, on that many chunks
// synthesised as bench/retrieval.ts does (sentences rotated per copy), 60 questions (customer, paraphrase, description).
const SCALE = Number(process.env.HALVES_SCALE ?? 0);
if (SCALE > 0) {
  const synth = synthesizeChunks(chunks, SCALE);
  const heap = () => process.memoryUsage().heapUsed / 1024 / 1024;
  globalThis.gc?.();
  const h0 = heap();
  const t0 = performance.now();
  const index = InMemoryKnowledgeIndex.fromChunks(synth);
  const indexSeconds = (performance.now() - t0) / 1000;
  globalThis.gc?.();
  const heapMb = heap() - h0;
  const kinds = [corpus.sets.customer, corpus.sets.paraphrase, corpus.sets.desc];
  const queries = Array.from({ length: 60 }, (_, i) => kinds[i % 3]![Math.floor(i / 3)]!.q);
  const timed = (articleWeight?: number) => queries.map((q) => {
    const t = performance.now();
    index.search(APP, q, { kbIds: [KB], limit: 20, expand: true, ...(articleWeight === undefined ? {} : { expansion: { articleWeight } }) });
    return performance.now() - t;
  });
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
  const withArticle = timed();
  const without = timed(0);
  const figures = { chunks: SCALE, index_seconds: Math.round(indexSeconds), heap_mb: Math.round(heapMb), default_ms: { p50: Math.round(pct(withArticle, 50)), p95: Math.round(pct(withArticle, 95)) }, no_article_ms: { p50: Math.round(pct(without, 50)), p95: Math.round(pct(without, 95)) } };
  log(`scale: ${JSON.stringify(figures)}`);
  console.log(JSON.stringify({ bench: 'retrieval-halves', scale: figures }));
}
