import type { EmbedRequest, EmbedResult } from '../../llm/index.ts';

/**
 * The knowledge room's port for turning text into vectors. Who the call is
 * for travels with it, so the ledger can price and attribute every call.
 */
export interface Embedder {
  embed(model: string, texts: readonly string[], context: EmbeddingContext): Promise<number[][]>;
}

/** Who a knowledge embedding call is for (a ledger UsageContext). */
export interface EmbeddingContext {
  app_id: string;
  source: 'agent';
  agent_id?: string | null;
  conversation_id?: string | null;
  /** 'knowledge_index' when documents are embedded, 'knowledge_query' for a question. */
  purpose: 'knowledge_index' | 'knowledge_query';
}

/** What the Router offers: every preset (OpenAI, DashScope, Ark, Ollama) speaks OpenAI's /embeddings. */
export interface EmbeddingModels {
  embed(request: EmbedRequest, options?: { context?: unknown }): Promise<EmbedResult>;
}

/**
 * How many texts one request may carry, per model. DashScope's compatible
 * mode takes 10 (text-embedding-v3/v4); Ark 256; OpenAI 2048 (we send fewer,
 * so one failed request costs little to retry); Ollama embeds one at a time
 * internally, so large batches only make a request slow.
 */
export const EMBEDDING_BATCH: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 128,
  'text-embedding-3-large': 128,
  'text-embedding-v3': 10,
  'text-embedding-v4': 10,
  'doubao-embedding': 64,
  'doubao-embedding-large': 64,
  'bge-m3': 16,
  'nomic-embed-text': 16,
};
const DEFAULT_BATCH = 16;

/** The models a knowledge base can embed with out of the box (the presets' embedding models). */
export const KNOWN_EMBEDDING_MODELS = Object.keys(EMBEDDING_BATCH);

/**
 * The Embedder over the Router: batched per the model's limit, each batch one
 * Router call (retries, fallback and the ledger row come with it).
 */
export function routerEmbedder(models: EmbeddingModels): Embedder {
  return {
    async embed(model, texts, context) {
      const size = EMBEDDING_BATCH[model] ?? DEFAULT_BATCH;
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += size) {
        const batch = texts.slice(i, i + size);
        const result = await models.embed({ model, input: [...batch] }, { context });
        if (result.vectors.length !== batch.length) {
          throw new Error(`${model} returned ${result.vectors.length} vectors for ${batch.length} texts`);
        }
        out.push(...result.vectors);
      }
      return out;
    },
  };
}
