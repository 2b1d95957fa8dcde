// Retrieval beyond BM25: query expansion (offline), embeddings, vectors, fusion and rerank.
export { expandQuery, feedbackTerms, type WeightedTerm } from './query-expansion.ts';
export { KNOWN_EMBEDDING_MODELS, routerEmbedder, type Embedder, type EmbeddingContext, type EmbeddingModels } from './embedder.ts';
export { EmbeddingCache, contentHash, unit as unitVector } from './embedding-cache.ts';
export { KbVectorStore, type RetrievalSettings } from './vector-store.ts';
export { VectorIndex } from './vector-index.ts';
export { reciprocalRankFusion } from './fusion.ts';
export { httpReranker, rerankerFrom, type Reranker } from './rerank.ts';
export { HybridRetrieval, embeddingText, type ModelSettings, type Retrieval, type RetrievalCaller, type RetrieverScores, type ScoredPassage } from './pipeline.ts';
