// Knowledge retrieval on ../shared/kb-eval (300 real Chinese articles; set
// KB_EVAL_DIR to move it; the bench says so and exits 0 when it is absent):
//
//   quality   recall@1, recall@5 and MRR of the article (the first passage of
//             each distinct document counts) for title, description and
//             section-heading queries, the first hand-written paraphrases
//             (bench/fixtures/kb-eval-paraphrases.json, which often reuse
//             title words) and customer questions in other words than the
//             title (bench/fixtures/kb-eval-customer-questions.json; the
//             bench reports any that share a jieba word with their title),
//             per retriever:
//               jieba_bm25      the baseline: BM25 (MiniSearch) over
//                               jieba-segmented chunks (@node-rs/jieba)
//               bm25            Warbler's BM25 (bigrams + dictionary words)
//               bm25_expanded   + synonyms and pseudo-relevance feedback: the
//                               offline default's retrieval (local/kb-answer)
//               x_*             variants of the expansion (one choice changed
//                               each), to keep what works
//               vector          the upstream fixture's embeddings (hashed
//                               bigrams, NOT a semantic model: these figures
//                               prove the plumbing, not the method)
//               hybrid          bm25_expanded + vector, reciprocal rank fusion
//               hybrid_rerank   + the fixture's /v1/rerank (plumbing again)
//   ingest    documents/s and chunks/s through chunking and the BM25 index
//   scale     RETRIEVAL_CHUNKS (100,000) chunks synthesised from the corpus:
//             heap of the BM25 index and of 256-dim vectors, and query p95 of
//             expanded BM25 and of the exact vector scan
//
// Progress goes to stderr; the last stdout line is one JSON object.

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { embedText, startUpstreamFixture } from '@warbler/upstream-fixture';
import { InMemoryKnowledgeIndex } from '../packages/server/src/kb/index.ts';
import type { ExpansionOptions } from '../packages/server/src/kb/retrieval/query-expansion.ts';
import { EmbeddingCache, HybridRetrieval, httpReranker, routerEmbedder, unitVector, VectorIndex, type RetrievalSettings } from '../packages/server/src/kb/retrieval/index.ts';
import { documentsOf, indexCorpus, jiebaBaseline, loadKbEval, score, sharedWords, synthesizeChunks, type EvalQuery, type Scores } from './lib/kb-eval.ts';
import { envNumber, log } from './lib/util.ts';

const SCALE_CHUNKS = envNumber('RETRIEVAL_CHUNKS', 100_000);
const SCALE_QUERIES = envNumber('RETRIEVAL_SCALE_QUERIES', 200);
const APP = 'bench';
const KB = 'kb-eval';

const corpus = loadKbEval();
if (!corpus) {
  log('../shared/kb-eval is absent (set KB_EVAL_DIR): nothing to measure');
  console.log(JSON.stringify({ skipped: 'kb-eval corpus not found' }));
  process.exit(0);
}

// ---- ingest: chunk and index, the production path minus the Store ----
const heap0 = heapMb();
const t0 = performance.now();
const { chunks, index: bm25 } = indexCorpus(corpus, APP, KB);
const ingestSeconds = (performance.now() - t0) / 1000;
const ingest = { documents: corpus.docs.length, chunks: chunks.length, seconds: round(ingestSeconds), docs_per_s: round(corpus.docs.length / ingestSeconds), chunks_per_s: round(chunks.length / ingestSeconds), bm25_heap_mb: round(heapMb() - heap0) };
log(`ingest: ${JSON.stringify(ingest)}`);

// ---- the baseline: jieba-segmented BM25 over the same chunks ----
const { jieba, baseline } = jiebaBaseline(chunks);
const byId = new Map(chunks.map((c) => [c.id, c]));

// ---- the customer questions must be in other words than their titles ----
const overlapping = corpus.sets.customer.flatMap(({ q }) => {
  const shared = sharedWords(q, corpus.customerTitles.get(q) ?? '', (t) => jieba.cutForSearch(t, true));
  return shared.length ? [{ q, shared }] : [];
});
for (const o of overlapping) log(`customer question shares ${o.shared.join(', ')} with its title: ${o.q}`);
log(`customer questions sharing a word with their title: ${overlapping.length} of ${corpus.sets.customer.length}`);

// ---- vectors through the real pipeline, against the upstream fixture ----
const fixture = await startUpstreamFixture({ recordRequests: 0 });
const embeddingModels = {
  async embed(request: { model: string; input: string[] }) {
    // One retry: a kept-alive socket the fixture closed while idle resets the next request.
    const send = () => fetch(`${fixture.url}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    const res = await send().catch(send);
    const body = (await res.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    return { model: request.model, vectors: body.data.map((d) => d.embedding), usage: { promptTokens: body.usage.prompt_tokens, totalTokens: body.usage.prompt_tokens, estimated: false } };
  },
};
const vectorRows = new Map<string, Float32Array>();
const memoryVectors = {
  getVectors: async (_app: string, model: string, hashes: readonly string[]) => new Map(hashes.flatMap((h) => (vectorRows.has(`${model}:${h}`) ? [[h, vectorRows.get(`${model}:${h}`)!] as const] : []))),
  putVectors: async (_app: string, model: string, v: ReadonlyMap<string, Float32Array>) => void [...v].forEach(([h, x]) => vectorRows.set(`${model}:${h}`, x)),
};
const settingsRows: RetrievalSettings[] = [];
const pipeline = (rerank: boolean) => new HybridRetrieval({
  store: { listSettings: async () => settingsRows, putSettings: async () => {}, deleteSettings: async () => {} },
  cache: new EmbeddingCache(routerEmbedder(embeddingModels), memoryVectors),
  ...(rerank ? { reranker: httpReranker({ baseUrl: fixture.url }) } : {}),
});
const hybrid = pipeline(false);
const reranked = pipeline(true);
await hybrid.saveSettings(APP, KB, { embedding_model: 'text-embedding-3-small', rerank_model: null });
await reranked.saveSettings(APP, KB, { embedding_model: 'text-embedding-3-small', rerank_model: 'fixture-rerank' });
const te = performance.now();
await hybrid.embedChunks(APP, KB, chunks);
await reranked.embedChunks(APP, KB, chunks);
log(`embedded ${chunks.length} chunks through the fixture in ${round((performance.now() - te) / 1000)} s`);

// ---- quality ----
// Each variant changes one choice of the default expansion (DEFAULT_EXPANSION).
const VARIANTS: Record<string, Partial<ExpansionOptions>> = {
  x_synonyms_only: { feedback: null },
  x_feedback_only: { synonyms: false },
  x_feedback_when_weak: { feedbackBelow: 0.95 },
  x_feedback_from_own: { feedbackFrom: 'own' },
  // Decision 0031's default: passages only, without the article view (decision 0034).
  x_no_article: { articleWeight: 0 },
  // The default until decision 0031 (decision 0018), on the new scorer: no cap on common added terms, no article view.
  x_previous_default: { maxShare: undefined, articleWeight: 0 },
};
type Ranker = (q: string) => Promise<string[]>;
const rankers: Record<string, Ranker> = {
  jieba_bm25: async (q) => [...new Set(baseline.search(q).slice(0, 50).map((r) => byId.get(r.id as string)!.document_id))],
  bm25: async (q) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50 })),
  bm25_expanded: async (q) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50, expand: true })),
  ...Object.fromEntries(Object.entries(VARIANTS).map(([name, expansion]) => [name, async (q: string) => documentsOf(bm25.search(APP, q, { kbIds: [KB], limit: 50, expand: true, expansion }))])),
  vector: async (q) => {
    const [v] = await new EmbeddingCache(routerEmbedder(embeddingModels), memoryVectors).vectors('text-embedding-3-small', [q], { app_id: APP, source: 'agent', purpose: 'knowledge_query' });
    return documentsOf(hybrid.vectors.search(APP, [KB], 'text-embedding-3-small', v!, 50));
  },
  hybrid: async (q) => documentsOf((await hybrid.retrieve((n) => bm25.search(APP, q, { kbIds: [KB], limit: n, expand: true }), APP, [KB], q, 20)).passages),
  hybrid_rerank: async (q) => documentsOf((await reranked.retrieve((n) => bm25.search(APP, q, { kbIds: [KB], limit: n, expand: true }), APP, [KB], q, 20)).passages),
};
const quality: Record<string, Record<string, Scores>> = {};
for (const [name, rank] of Object.entries(rankers)) {
  quality[name] = {};
  for (const [set, queries] of Object.entries(corpus.sets)) quality[name]![set] = await scoreAsync(queries, rank);
  log(`${name.padEnd(14)} ${JSON.stringify(quality[name])}`);
}
await fixture.close();

// ---- scale: synthetic chunks from the corpus ----
const scale = SCALE_CHUNKS > 0 ? await measureScale() : undefined;

const r5 = (name: string, set: string) => quality[name]![set]!.recall_at_5;
console.log(JSON.stringify({
  bench: 'retrieval', corpus: { documents: corpus.docs.length, chunks: chunks.length, queries: Object.fromEntries(Object.entries(corpus.sets).map(([k, v]) => [k, v.length])), customer_questions_sharing_title_words: overlapping.length },
  quality, ingest, scale,
  ratios: {
    customer_recall5_bm25_expanded_over_jieba: round(r5('bm25_expanded', 'customer') / r5('jieba_bm25', 'customer')),
    customer_recall5_bm25_over_jieba: round(r5('bm25', 'customer') / r5('jieba_bm25', 'customer')),
    paraphrase_recall5_bm25_expanded_over_jieba: round(r5('bm25_expanded', 'paraphrase') / r5('jieba_bm25', 'paraphrase')),
    paraphrase_recall5_bm25_over_jieba: round(r5('bm25', 'paraphrase') / r5('jieba_bm25', 'paraphrase')),
  },
  load_average: loadavg().map(round),
  note: 'vector, hybrid and hybrid_rerank use the upstream fixture (hashed-bigram vectors, cosine rerank): they prove the plumbing, not semantic quality',
}));

async function scoreAsync(queries: readonly EvalQuery[], rank: Ranker): Promise<Scores> {
  const ranked = new Map<string, string[]>();
  for (const { q } of queries) ranked.set(q, await rank(q));
  return score(queries, (q) => ranked.get(q)!);
}

async function measureScale() {
  log(`synthesising ${SCALE_CHUNKS} chunks`);
  const synth = synthesizeChunks(chunks, SCALE_CHUNKS);
  globalThis.gc?.();
  const h0 = heapMb();
  const tIndex = performance.now();
  const index = InMemoryKnowledgeIndex.fromChunks(synth);
  const indexSeconds = (performance.now() - tIndex) / 1000;
  globalThis.gc?.();
  const bm25Heap = heapMb() - h0;
  const vectors = new VectorIndex();
  const h1 = heapMb();
  for (const c of synth) vectors.put(c, 'fixture-256', unitVector(embedText(c.text.slice(0, 2000), 256)));
  globalThis.gc?.();
  const vectorHeap = heapMb() - h1;
  // Customer questions, old paraphrases and descriptions in turn, so every kind is in the sample.
  const kinds = [corpus!.sets.customer, corpus!.sets.paraphrase, corpus!.sets.desc];
  const queries = Array.from({ length: SCALE_QUERIES }, (_, i) => kinds[i % 3]![Math.floor(i / 3) % kinds[i % 3]!.length]!.q);
  const lexical: number[] = [];
  const previous: number[] = [];
  const whenWeak: number[] = [];
  const synonymsOnly: number[] = [];
  const plain: number[] = [];
  const semantic: number[] = [];
  const timed = (f: () => unknown) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  for (const q of queries) {
    lexical.push(timed(() => index.search(APP, q, { kbIds: [KB], limit: 20, expand: true })));
    plain.push(timed(() => index.search(APP, q, { kbIds: [KB], limit: 20 })));
    if (previous.length < 60) {
      previous.push(timed(() => index.search(APP, q, { kbIds: [KB], limit: 20, expand: true, expansion: VARIANTS.x_previous_default! })));
      whenWeak.push(timed(() => index.search(APP, q, { kbIds: [KB], limit: 20, expand: true, expansion: VARIANTS.x_feedback_when_weak! })));
      synonymsOnly.push(timed(() => index.search(APP, q, { kbIds: [KB], limit: 20, expand: true, expansion: VARIANTS.x_synonyms_only! })));
    }
    const v = unitVector(embedText(q, 256));
    semantic.push(timed(() => vectors.search(APP, [KB], 'fixture-256', v, 20)));
  }
  const figures = {
    chunks: synth.length, bm25_index_seconds: round(indexSeconds), bm25_chunks_per_s: round(synth.length / indexSeconds),
    bm25_heap_mb: round(bm25Heap), vectors_256d_heap_mb: round(vectorHeap),
    bm25_expanded_query_ms: { p50: round(pct(lexical, 50)), p95: round(pct(lexical, 95)) },
    previous_default_query_ms: { p50: round(pct(previous, 50)), p95: round(pct(previous, 95)), queries: previous.length },
    feedback_when_weak_query_ms: { p50: round(pct(whenWeak, 50)), p95: round(pct(whenWeak, 95)), queries: whenWeak.length },
    synonyms_only_query_ms: { p50: round(pct(synonymsOnly, 50)), p95: round(pct(synonymsOnly, 95)), queries: synonymsOnly.length },
    bm25_plain_query_ms: { p50: round(pct(plain, 50)), p95: round(pct(plain, 95)) },
    vector_exact_query_ms: { p50: round(pct(semantic, 50)), p95: round(pct(semantic, 95)) },
    queries: queries.length,
  };
  log(`scale: ${JSON.stringify(figures)}`);
  return figures;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
}

function heapMb(): number {
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
