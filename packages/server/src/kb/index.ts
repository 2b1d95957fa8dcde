export type { Chunk, Citation, KbAnswer, KbDocument, Passage } from './types.ts';
export { chunkDocument, defaultChunkOptions, type ChunkOptions } from './chunk.ts';
export { importFolder, documentTitle, type FolderImport, type FolderImportOptions } from './folder.ts';
export { InMemoryKnowledgeIndex, type KbSearchOptions, type KnowledgeIndex } from './knowledge-index.ts';
export { answerFromPassages, type AnswerOptions } from './answer.ts';
