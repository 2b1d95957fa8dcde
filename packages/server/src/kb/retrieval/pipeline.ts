import type { Chunk, Passage } from '../types.ts';
import type { EmbeddingContext } from './embedder.ts';
import type { EmbeddingCache } from './embedding-cache.ts';
import { reciprocalRankFusion } from './fusion.ts';
import type { Reranker } from './rerank.ts';
import { VectorIndex } from './vector-index.ts';
import type { KbVectorStore, RetrievalSettings } from './vector-store.ts';

/** How each retriever saw a passage; absent where it did not find it. */
export interface RetrieverScores {
  bm25?: number;
  vector?: number;
  /** Reciprocal rank fusion of the lists above (only when there was more than one). */
  fused?: number;
  rerank?: number;
}

export interface ScoredPassage extends Passage {
  scores: RetrieverScores;
}

export interface Retrieval {
  passages: ScoredPassage[];
  /** The retrievers that ran, in order: 'bm25', 'vector', 'rerank'. */
  retrievers: ('bm25' | 'vector' | 'rerank')[];
  /** Why a configured retriever did not run (its provider failed): the rest still answered. */
  degraded?: string;
}

export interface RetrievalCaller {
  agent_id?: string | null;
  conversation_id?: string | null;
}

export type ModelSettings = Pick<RetrievalSettings, 'embedding_model' | 'rerank_model'>;

/**
 * Hybrid retrieval: BM25 (with synonyms and feedback terms) always, vectors
 * for knowledge bases that name an embedding model, fused by reciprocal rank,
 * then an optional rerank. Agents and the console's retrieval test both call
 * retrieve(), so what a test shows is what an agent receives.
 */
export class HybridRetrieval {
  readonly vectors = new VectorIndex();
  private readonly settings = new Map<string, ModelSettings>();

  constructor(
    private readonly deps: {
      store: Pick<KbVectorStore, 'listSettings' | 'putSettings' | 'deleteSettings'>;
      cache: EmbeddingCache;
      reranker?: Reranker;
      onError?: (err: unknown, what: string) => void;
      now?: () => number;
    },
  ) {}

  get canRerank(): boolean {
    return !!this.deps.reranker;
  }

  async loadSettings(): Promise<void> {
    for (const row of await this.deps.store.listSettings()) this.settings.set(key(row.app_id, row.kb_id), row);
  }

  settingsOf(appId: string, kbId: string): ModelSettings {
    return this.settings.get(key(appId, kbId)) ?? { embedding_model: null, rerank_model: null };
  }

  async saveSettings(appId: string, kbId: string, next: ModelSettings): Promise<void> {
    await this.deps.store.putSettings({ app_id: appId, kb_id: kbId, ...next, updated_at: (this.deps.now ?? Date.now)() });
    this.settings.set(key(appId, kbId), { ...next });
  }

  async forgetKnowledgeBase(appId: string, kbId: string): Promise<void> {
    this.vectors.removeKnowledgeBase(appId, kbId);
    this.settings.delete(key(appId, kbId));
    await this.deps.store.deleteSettings(appId, kbId);
  }

  /**
   * Vectors for the chunks under the knowledge base's model: from the cache
   * where the text was embedded before, from the provider otherwise. Returns
   * how many it holds; throws when the provider fails (the caller decides).
   */
  async embedChunks(appId: string, kbId: string, chunks: readonly Chunk[]): Promise<number> {
    const model = this.settingsOf(appId, kbId).embedding_model;
    if (!model || !chunks.length) return 0;
    const todo = chunks.filter((c) => !this.vectors.has(c, model));
    const vectors = await this.deps.cache.vectors(model, todo.map(embeddingText), { app_id: appId, source: 'agent', purpose: 'knowledge_index' });
    todo.forEach((chunk, i) => this.vectors.put(chunk, model, vectors[i]!));
    return chunks.length;
  }

  async retrieve(
    bm25: (limit: number) => Passage[],
    appId: string, kbIds: readonly string[], query: string, k: number, caller: RetrievalCaller = {},
  ): Promise<Retrieval> {
    const pool = Math.max(20, k * 4);
    const lexical = bm25(pool);
    const retrievers: Retrieval['retrievers'] = ['bm25'];
    const context: EmbeddingContext = { app_id: appId, source: 'agent', purpose: 'knowledge_query', agent_id: caller.agent_id ?? null, conversation_id: caller.conversation_id ?? null };
    let degraded: string | undefined;
    const semantic: Passage[] = [];
    for (const [model, ids] of this.byModel(appId, kbIds, 'embedding_model')) {
      try {
        const [vector] = await this.deps.cache.vectors(model, [query], context);
        semantic.push(...this.vectors.search(appId, ids, model, vector!, pool));
        if (!retrievers.includes('vector')) retrievers.push('vector');
      } catch (err) {
        this.deps.onError?.(err, `embedding a query with ${model}`);
        degraded = `The embedding model ${model} did not answer (${messageOf(err)}), so this search used keywords only.`;
      }
    }
    semantic.sort((a, b) => b.score - a.score);
    let ranked = this.fuse(lexical, semantic, retrievers.length > 1);
    const rerank = this.byModel(appId, kbIds, 'rerank_model');
    if (rerank.size && this.deps.reranker && ranked.length) {
      const [model] = rerank.keys();
      try {
        ranked = await this.rerank(model!, query, ranked.slice(0, pool), context);
        retrievers.push('rerank');
      } catch (err) {
        this.deps.onError?.(err, `reranking with ${model}`);
        degraded = `The rerank model ${model} did not answer (${messageOf(err)}), so passages keep their search order.`;
      }
    }
    return { passages: ranked.slice(0, k), retrievers, ...(degraded ? { degraded } : {}) };
  }

  private fuse(lexical: Passage[], semantic: Passage[], hybrid: boolean): ScoredPassage[] {
    const bm25 = new Map(lexical.map((p) => [p.chunk.id, p.score]));
    const vector = new Map(semantic.map((p) => [p.chunk.id, p.score]));
    const scoresOf = (id: string): RetrieverScores => ({
      ...(bm25.has(id) ? { bm25: bm25.get(id)! } : {}),
      ...(vector.has(id) ? { vector: vector.get(id)! } : {}),
    });
    if (!hybrid) return lexical.map((p) => ({ ...p, scores: scoresOf(p.chunk.id) }));
    return reciprocalRankFusion([lexical, semantic], (p) => `${p.chunk.app_id}\u0000${p.chunk.id}`).map(({ item, score }) => ({
      chunk: item.chunk, score, scores: { ...scoresOf(item.chunk.id), fused: score },
    }));
  }

  private async rerank(model: string, query: string, ranked: ScoredPassage[], context: EmbeddingContext): Promise<ScoredPassage[]> {
    const scores = await this.deps.reranker!.rerank(model, query, ranked.map((p) => embeddingText(p.chunk)), context);
    return ranked
      .map((p, i) => ({ ...p, score: scores[i]!, scores: { ...p.scores, rerank: scores[i]! } }))
      .sort((a, b) => b.score - a.score);
  }

  /** The knowledge bases among kbIds that name a model of this kind, grouped by the model. */
  private byModel(appId: string, kbIds: readonly string[], kind: keyof ModelSettings): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const kbId of new Set(kbIds)) {
      const model = this.settingsOf(appId, kbId)[kind];
      if (model) groups.set(model, [...(groups.get(model) ?? []), kbId]);
    }
    return groups;
  }
}

/** What is embedded for a chunk: where it sits (title, headings) and what it says. */
export function embeddingText(chunk: Pick<Chunk, 'title' | 'heading_path' | 'text'>): string {
  const where = [chunk.title, ...chunk.heading_path].filter(Boolean).join(' › ');
  return where ? `${where}\n\n${chunk.text}` : chunk.text;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function key(appId: string, kbId: string): string {
  return `${appId}\u0000${kbId}`;
}
