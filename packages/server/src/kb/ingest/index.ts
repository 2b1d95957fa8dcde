export { IngestStore, type IngestJob, type IngestJobRow, type IngestStatus } from './ingest-store.ts';
export { KnowledgeIngestion, webDocumentId, type FetchPage, type IngestionOptions, type IngestUpload, type PageReader } from './ingestion.ts';
export { visionPageReader } from './ocr.ts';
export { defaultKnowledgeSettings, readSettings } from './settings.ts';
