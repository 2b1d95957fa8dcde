// The kb-eval corpus (../shared/kb-eval, read-only, outside the repository):
// 300 Chinese articles, their title and description queries, and the
// customer-style paraphrases kept beside this benchmark.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EvalQuery {
  q: string;
  doc: string;
}

export interface KbEval {
  docs: { file: string; text: string }[];
  sets: { title: EvalQuery[]; desc: EvalQuery[]; paraphrase: EvalQuery[] };
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
  return {
    docs,
    sets: {
      title: lines.map((l) => ({ q: l.q, doc: l.doc })),
      desc: lines.filter((l) => l.desc && l.desc !== l.q).map((l) => ({ q: l.desc, doc: l.doc })),
      paraphrase: paraphrases.questions.map(({ q, doc }) => ({ q, doc })),
    },
  };
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
