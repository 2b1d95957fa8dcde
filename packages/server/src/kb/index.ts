export type { Chunk, Citation, KbAnswer, KbDocument, Passage } from './types.ts';
export { chunkDocument, chunkDocumentInSlices, defaultChunkOptions, type ChunkOptions } from './chunk.ts';
export { importFolder, documentTitle, type FolderImport, type FolderImportOptions } from './folder.ts';
export { InMemoryKnowledgeIndex, type KbSearchOptions, type KnowledgeIndex } from './knowledge-index.ts';
export { answerFromPassages, type AnswerOptions } from './answer.ts';
export { formatKnowledgeBlock, knowledgeLabel, knowledgePassages, parseKnowledgeBlock, type KnowledgePassage } from './knowledge-block.ts';
export { KB_ANSWER_MODEL, answerFromKnowledge, createKbAnswerProvider, type KbAnswerProviderOptions } from './kb-answer-provider.ts';
export {
  ACCEPTED_DOCUMENT_EXTENSIONS,
  ACCEPTED_DOCUMENT_MIME,
  DEFAULT_MAX_DOCUMENT_BYTES,
  KnowledgeBases,
  byteSize,
  documentTooLarge,
  uploadFormat,
  type DocumentFormat,
  type DocumentInput,
  type DocumentUpload,
  type FolderImportResult,
  type KbDocumentInfo,
  type KnowledgeBase,
  type KnowledgeBaseInput,
  type KnowledgeBasesOptions,
  type KnowledgeStore,
} from './service.ts';
export { isDeveloperRecord, seedDocsDir } from './seed.ts';
// The same terms as knowledge search, for agents that search a conversation's own history.
export { queryTerms, searchTerms } from './terms.ts';
// Every format a knowledge base takes, parsed off the event loop; the upload queue; FAQs answered without a model.
export { ACCEPTED_EXTENSIONS, detectFormat, isBinaryFormat, parseFile, ParseFailure, type ParsedDocument, type SourceFormat } from './parse/index.ts';
export { IngestStore, KnowledgeIngestion, visionPageReader, type IngestJob } from './ingest/index.ts';
export { WebSources, WebSourceStore } from './web/index.ts';
export { createFaqProvider, FAQ_MODEL, faqFirst, Faqs, FaqStore, ratedRepliesFrom, type RatedReplies } from './faq/index.ts';
// Hybrid retrieval: embeddings (cached, in the ledger), vectors, fusion, rerank.
export { EmbeddingCache, HybridRetrieval, KbVectorStore, reciprocalRankFusion, rerankerFrom, routerEmbedder, type Retrieval, type RetrieverScores } from './retrieval/index.ts';
