import type { EmbeddingContext } from './embedder.ts';

/** A second opinion on the candidates: one relevance score per document, higher is better. */
export interface Reranker {
  rerank(model: string, query: string, documents: readonly string[], context: EmbeddingContext): Promise<number[]>;
}

export interface HttpRerankerOptions {
  /** Up to the version segment, e.g. https://api.jina.ai/v1 or a vLLM server's http://host:8000/v1. */
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * The rerank wire format Jina, Cohere (v1), vLLM, Xinference and SiliconFlow
 * share: POST {base}/rerank {model, query, documents, top_n} answered with
 * results [{index, relevance_score}]. The URL is the operator's, like a
 * provider's base URL.
 */
export function httpReranker(options: HttpRerankerOptions): Reranker {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/rerank`;
  return {
    async rerank(model, query, documents) {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
        body: JSON.stringify({ model, query, documents, top_n: documents.length }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      if (!res.ok) throw new Error(`rerank ${model} answered HTTP ${res.status}`);
      const body = (await res.json()) as { results?: { index?: unknown; relevance_score?: unknown }[] };
      const scores = documents.map(() => Number.NEGATIVE_INFINITY);
      for (const r of body.results ?? []) {
        if (typeof r.index === 'number' && Number.isInteger(r.index) && r.index >= 0 && r.index < documents.length && typeof r.relevance_score === 'number') {
          scores[r.index] = r.relevance_score;
        }
      }
      return scores;
    },
  };
}

/** The operator's rerank endpoint from WARBLER_RERANK_BASE_URL (and WARBLER_RERANK_API_KEY), if set. */
export function rerankerFrom(env: Record<string, string | undefined>): Reranker | undefined {
  const baseUrl = env.WARBLER_RERANK_BASE_URL?.trim();
  if (!baseUrl) return undefined;
  return httpReranker({ baseUrl, ...(env.WARBLER_RERANK_API_KEY ? { apiKey: env.WARBLER_RERANK_API_KEY } : {}) });
}
