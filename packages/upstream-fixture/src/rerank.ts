// The rerank wire format of Jina, Cohere v1, vLLM and SiliconFlow: POST /v1/rerank
// {model, query, documents, top_n} → {results: [{index, relevance_score}], usage}.
// Scores are the cosine of the fixture's hashed embeddings: deterministic, and
// proof of plumbing only, not of relevance.
import { embedText } from './embeddings.ts';

export interface RerankAnswer {
  status: number;
  body: unknown;
}

export function rerank(body: any, tokens: (text: string) => number): RerankAnswer {
  const query: unknown = body?.query;
  const raw: unknown = body?.documents;
  if (typeof query !== 'string' || !Array.isArray(raw) || raw.length === 0) {
    return { status: 400, body: { error: { message: "'query' (a string) and 'documents' (a non-empty list) are required.", type: 'invalid_request_error' } } };
  }
  const documents = raw.map((d) => (typeof d === 'string' ? d : typeof d?.text === 'string' ? d.text : ''));
  const q = embedText(query, 256);
  const results = documents
    .map((doc, index) => {
      const v = embedText(doc, 256);
      return { index, relevance_score: q.reduce((s, x, i) => s + x * v[i]!, 0) };
    })
    .sort((a, b) => b.relevance_score - a.relevance_score)
    .slice(0, Number.isInteger(body.top_n) && body.top_n > 0 ? body.top_n : documents.length);
  const used = tokens(query) * documents.length + documents.reduce((n, d) => n + tokens(d), 0);
  return { status: 200, body: { id: `rerank-${Date.now()}`, model: String(body.model ?? ''), results, usage: { total_tokens: used } } };
}
