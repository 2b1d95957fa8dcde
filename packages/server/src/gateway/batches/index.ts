// The Batch API: OpenAI's Files (purpose batch) and Batches, run in the
// background through the gateway core (limits, budgets, router, ledger).
// Wiring (app.ts):
//   const gatewayFiles = new GatewayFiles({ store, dir: path.join(dataDir, 'gateway-files') });
//   const batches = new Batches({ store, files: gatewayFiles });
//   const batchRunner = new BatchRunner({ store, files: gatewayFiles, execute, models: () => router.models() });
//   batches.signals = batchRunner;
//   after listen: await batchRunner.start();   close: await batchRunner.stop() before the ledger and store close.
export { DEFAULT_MAX_FILE_BYTES, GatewayFiles, UPLOAD_PURPOSES, type GatewayFileStore, type GatewayFilesOptions, type StagedFile } from './files.ts';
export { MAX_BATCH_LINES, parseLine, readLines, validateFile, type BatchLine, type LineRules } from './lines.ts';
export { executeThroughGateway, lineResult, type CompletionRunner } from './execute.ts';
export { BatchRunner, type BatchRunnerOptions, type BatchRunnerStore, type LineCall, type LineExecutor, type LineResult, type RunnerLog } from './runner.ts';
export { Batches, COMPLETION_WINDOWS, type BatchServiceStore, type BatchSignals, type CreateBatch } from './service.ts';
export {
  BATCH_ENDPOINTS,
  batchObject,
  fileObject,
  isBatchEndpoint,
  lineRequestId,
  listObject,
  outputLine,
  type BatchEndpoint,
  type OpenAIBatch,
  type OpenAIFile,
} from './wire.ts';
