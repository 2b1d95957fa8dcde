// Rerank-only providers, turned on by their key like the chat presets. Jina,
// Cohere and SiliconFlow take POST {base}/rerank in the Jina/Cohere shape;
// DashScope's gte-rerank takes its own native shape (input/parameters,
// answered under output). Base URLs and model ids: see docs/gateway.md for
// which were checked against the providers' published documentation.
import { abortError } from './abort.ts';
import { LlmError } from './errors.ts';
import type { Reranking, RerankRequest } from './media.ts';
import { readRerankResults, rerank } from './openai-media.ts';
import type { CallOptions, ChatStreamPart, LlmProvider } from './types.ts';
import { UpstreamHttp } from './upstream-http.ts';

export type RerankPresetName = 'jina' | 'cohere' | 'siliconflow' | 'dashscope';

export interface RerankPreset {
  label: string;
  baseURL: string;
  apiKeyEnv: string;
  /** Where a different base URL comes from (a proxy, a region, a test fixture). */
  baseURLEnv: string;
  /** 'jina': POST {base}/rerank (Jina, Cohere v2, SiliconFlow); 'dashscope': DashScope's native text-rerank. */
  wire: 'jina' | 'dashscope';
  /** The rerank models served by default (route name = upstream model id). */
  models: readonly string[];
}

export const RERANK_PRESETS: Readonly<Record<RerankPresetName, RerankPreset>> = {
  jina: { label: 'Jina AI', baseURL: 'https://api.jina.ai/v1', apiKeyEnv: 'JINA_API_KEY', baseURLEnv: 'JINA_BASE_URL', wire: 'jina', models: ['jina-reranker-v2-base-multilingual'] },
  cohere: { label: 'Cohere', baseURL: 'https://api.cohere.com/v2', apiKeyEnv: 'COHERE_API_KEY', baseURLEnv: 'COHERE_BASE_URL', wire: 'jina', models: ['rerank-v3.5'] },
  siliconflow: { label: 'SiliconFlow', baseURL: 'https://api.siliconflow.cn/v1', apiKeyEnv: 'SILICONFLOW_API_KEY', baseURLEnv: 'SILICONFLOW_BASE_URL', wire: 'jina', models: ['BAAI/bge-reranker-v2-m3'] },
  dashscope: { label: 'DashScope rerank', baseURL: 'https://dashscope.aliyuncs.com/api/v1', apiKeyEnv: 'DASHSCOPE_API_KEY', baseURLEnv: 'DASHSCOPE_RERANK_BASE_URL', wire: 'dashscope', models: ['gte-rerank-v2'] },
};

type Env = Record<string, string | undefined>;

/** DashScope's native rerank: {model, input: {query, documents}, parameters} → {output: {results}, usage: {total_tokens}}. */
async function dashscopeRerank(http: UpstreamHttp, request: RerankRequest, options: CallOptions): Promise<Reranking> {
  const body = {
    model: request.model,
    input: { query: request.query, documents: request.documents },
    parameters: { return_documents: false, ...(request.topN !== undefined ? { top_n: request.topN } : {}) },
  };
  const res = (await http.postJson('/services/rerank/text-rerank/text-rerank', body, options.signal)) as {
    output?: { results?: unknown }; usage?: { total_tokens?: unknown };
  } | null;
  const results = readRerankResults(res?.output?.results, request.documents.length).sort((a, b) => b.relevanceScore - a.relevanceScore);
  const tokens = res?.usage?.total_tokens;
  return { model: request.model, results, ...(typeof tokens === 'number' ? { tokens } : {}) };
}

/** A provider that only reranks: chat and embeddings are the caller's mistake (a 400 that never counts against it). */
export function rerankProvider(name: string, options: { baseURL: string; apiKey?: string; wire: RerankPreset['wire'] }): LlmProvider {
  const http = new UpstreamHttp({ baseURL: options.baseURL, ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
  const onlyRerank = () => new LlmError('bad_request', `The provider "${name}" only reranks; use /v1/rerank with this model.`);
  return {
    name,
    async *chat(_request, callOptions): AsyncGenerator<ChatStreamPart> {
      yield { type: 'error', error: callOptions?.signal?.aborted ? abortError(callOptions.signal) : onlyRerank() };
    },
    complete: async () => {
      throw onlyRerank();
    },
    embed: async () => {
      throw onlyRerank();
    },
    rerank: (request, callOptions = {}) => (options.wire === 'dashscope' ? dashscopeRerank(http, request, callOptions) : rerank(http, request, callOptions)),
    close: () => http.close(),
  };
}

/** The rerank providers whose key is set in the environment, by preset name, with the models each serves. */
export function rerankProvidersFromEnv(env: Env = process.env): Map<RerankPresetName, { provider: LlmProvider; models: readonly string[] }> {
  const out = new Map<RerankPresetName, { provider: LlmProvider; models: readonly string[] }>();
  for (const name of Object.keys(RERANK_PRESETS) as RerankPresetName[]) {
    const p = RERANK_PRESETS[name];
    const apiKey = env[p.apiKeyEnv];
    if (!apiKey) continue;
    out.set(name, { provider: rerankProvider(name === 'dashscope' ? 'dashscope-rerank' : name, { baseURL: env[p.baseURLEnv] || p.baseURL, apiKey, wire: p.wire }), models: p.models });
  }
  return out;
}
