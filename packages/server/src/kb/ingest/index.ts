export { IngestStore, type IngestJob, type IngestJobRow, type IngestStatus } from './ingest-store.ts';
export { KnowledgeIngestion, webDocumentId, type FetchPage, type IngestionOptions, type IngestUpload } from './ingestion.ts';
export { defaultKnowledgeSettings, readSettings } from './settings.ts';
