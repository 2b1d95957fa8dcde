// The kb-eval corpus (../shared/kb-eval, read-only, outside the repository):
// 300 Chinese articles, their title and description queries, and the
// customer-style questions kept beside this benchmark, and section queries
// (one distinctive heading per article).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import MiniSearch from 'minisearch';
import { chunkDocument, InMemoryKnowledgeIndex, type Chunk } from '../../packages/server/src/kb/index.ts';
import { firstHeading, stripFrontMatter } from '../../packages/server/src/kb/markdown.ts';

export interface EvalQuery {
  q: string;
  doc: string;
}

export interface KbEval {
  docs: { file: string; text: string }[];
  sets: { title: EvalQuery[]; desc: EvalQuery[]; section: EvalQuery[]; paraphrase: EvalQuery[]; customer: EvalQuery[] };
  /** The article title of each customer question, to check that the question is in other words. */
  customerTitles: Map<string, string>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
export const KB_EVAL_DIR = process.env.KB_EVAL_DIR ?? join(here, '../../../shared/kb-eval');

/** The corpus, or undefined (with the reason) when ../shared/kb-eval is absent. */
export function loadKbEval(dir = KB_EVAL_DIR): KbEval | undefined {
  const queriesFile = join(dir, 'queries.jsonl');
  if (!existsSync(queriesFile)) return undefined;
  const lines = readFileSync(queriesFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { q: string; desc: string; doc: string });
  const docsDir = join(dir, 'docs');
  const docs = readdirSync(docsDir).filter((f) => f.endsWith('.md')).sort().map((file) => ({ file, text: readFileSync(join(docsDir, file), 'utf8') }));
  const paraphrases = JSON.parse(readFileSync(join(here, '../fixtures/kb-eval-paraphrases.json'), 'utf8')) as { questions: EvalQuery[] };
  const customer = JSON.parse(readFileSync(join(here, '../fixtures/kb-eval-customer-questions.json'), 'utf8')) as { questions: (EvalQuery & { title: string })[] };
  return {
    docs,
    sets: {
      title: lines.map((l) => ({ q: l.q, doc: l.doc })),
      desc: lines.filter((l) => l.desc && l.desc !== l.q).map((l) => ({ q: l.desc, doc: l.doc })),
      section: sectionQueries(docs, new Map(lines.map((l) => [l.doc, l.q]))),
      paraphrase: paraphrases.questions.map(({ q, doc }) => ({ q, doc })),
      customer: customer.questions.map(({ q, doc }) => ({ q, doc })),
    },
    customerTitles: new Map(customer.questions.map((c) => [c.q, c.title])),
  };
}

/**
 * One query per article from its section headings (## and ###): the first
 * heading of at least six characters once its numbering is stripped that no
 * other article has and that is not the article's title. A reader who
 * remembers a part of an article searches like this.
 */
export function sectionQueries(docs: readonly { file: string; text: string }[], titles: ReadonlyMap<string, string>): EvalQuery[] {
  const bare = (s: string) => s.replace(/[\s\p{P}]/gu, '').toLowerCase();
  const headingsOf = (text: string) =>
    [...text.matchAll(/^#{2,3}\s+(.+)$/gm)].map((m) =>
      m[1]!.replace(/\*\*/g, '').replace(/^\s*([一二三四五六七八九十]+、|\d+(\.\d+)*[、.．]?|[A-Z][、.])\s*/, '').trim(),
    );
  const count = new Map<string, number>();
  const byDoc = docs.map((d) => {
    const title = bare(titles.get(d.file) ?? /^#\s+(.+)$/m.exec(d.text)?.[1] ?? '');
    const own = [...new Set(headingsOf(d.text))].filter((h) => bare(h) !== title && !title.includes(bare(h)) && Array.from(h).length >= 6);
    for (const h of own) count.set(h, (count.get(h) ?? 0) + 1);
    return { doc: d.file, own };
  });
  return byDoc.flatMap(({ doc, own }) => {
    const q = own.find((h) => count.get(h) === 1);
    return q ? [{ q, doc }] : [];
  });
}

/** Words a customer question may share with its title: question words, and proper names that have no other wording. */
export const ALLOWED_SHARED = new Set(['什么', '为什么', '哪些', '如何', '怎么', '哪里', '怎样', '是否', '蓝莺', 'o1', 'cocos', 'qq', '微信', '微软', '日本', '韩国']);

/** The words (2+ characters, from `words`, e.g. jieba's search mode) a question shares with a title, beyond ALLOWED_SHARED. */
export function sharedWords(question: string, title: string, words: (text: string) => string[]): string[] {
  const long = (text: string) => new Set(words(text.toLowerCase()).filter((w) => Array.from(w).length >= 2 && !/^[\s\p{P}\p{S}]+$/u.test(w)));
  const inTitle = long(title);
  return [...long(question)].filter((w) => inTitle.has(w) && !ALLOWED_SHARED.has(w));
}

export interface Scores {
  recall_at_1: number;
  recall_at_5: number;
  mrr: number;
}

/** Recall@1, recall@5 and MRR (over the first 10) of ranked document lists. */
export function score(queries: readonly EvalQuery[], rank: (q: string) => string[]): Scores {
  let r1 = 0;
  let r5 = 0;
  let rr = 0;
  for (const { q, doc } of queries) {
    const i = rank(q).indexOf(doc);
    if (i === 0) r1++;
    if (i >= 0 && i < 5) r5++;
    if (i >= 0 && i < 10) rr += 1 / (i + 1);
  }
  const n = queries.length || 1;
  return { recall_at_1: round(r1 / n), recall_at_5: round(r5 / n), mrr: round(rr / n) };
}

/** Distinct documents in the order their passages rank. */
export function documentsOf(passages: readonly { chunk: { document_id: string } }[]): string[] {
  return [...new Set(passages.map((p) => p.chunk.document_id))];
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The corpus chunked and indexed as the product does it (the production path minus the Store), under one app and knowledge base. */
export function indexCorpus(corpus: KbEval, appId: string, kbId: string): { chunks: Chunk[]; index: InMemoryKnowledgeIndex } {
  const chunks: Chunk[] = [];
  const index = new InMemoryKnowledgeIndex();
  for (const d of corpus.docs) {
    const title = firstHeading(stripFrontMatter(d.text).body) ?? d.file;
    const own = chunkDocument({ id: d.file, app_id: appId, kb_id: kbId, title, source: d.file, text: d.text, format: 'markdown' });
    index.putDocument(appId, d.file, own);
    chunks.push(...own);
  }
  return { chunks, index };
}

/** The baseline: BM25 (MiniSearch) over the same chunks, segmented by jieba (search mode), punctuation dropped. */
export function jiebaBaseline(chunks: readonly Chunk[]): { jieba: Jieba; jiebaTerms: (text: string) => string[]; baseline: MiniSearch<Chunk> } {
  const jieba = Jieba.withDict(dict);
  const NOT_WORD = /^[\s\p{P}\p{S}]*$/u;
  const jiebaTerms = (text: string) => jieba.cutForSearch(text.toLowerCase(), true).filter((w) => !NOT_WORD.test(w));
  const baseline = new MiniSearch<Chunk>({ fields: ['title', 'text'], extractField: (c, f) => (f === 'id' ? c.id : f === 'title' ? c.title : c.text), tokenize: jiebaTerms, processTerm: (t) => t });
  baseline.addAll(chunks);
  return { jieba, jiebaTerms, baseline };
}

/** `count` chunks from the corpus's: each copy shifts a chunk's sentences by one, so copies are distinct texts with the corpus's vocabulary. */
export function synthesizeChunks(chunks: readonly Chunk[], count: number): Chunk[] {
  const synth: Chunk[] = [];
  for (let i = 0; synth.length < count; i++) {
    const c = chunks[i % chunks.length]!;
    const copy = Math.floor(i / chunks.length);
    const parts = c.text.split(/(?<=[。！？.!?])/);
    const text = copy === 0 ? c.text : [...parts.slice(copy % parts.length), ...parts.slice(0, copy % parts.length)].join('');
    synth.push({ ...c, id: `${c.document_id}~${copy}#${c.ordinal}`, document_id: `${c.document_id}~${copy}`, text });
  }
  return synth;
}
