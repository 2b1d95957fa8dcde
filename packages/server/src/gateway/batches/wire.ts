// OpenAI's Files and Batch API objects, built from our rows. Times leave in
// seconds (OpenAI's unit) and unset ones as null, so the official SDKs read
// them unchanged.
import { createHash, randomBytes } from 'node:crypto';
import type { BatchItemRow, BatchRow, GatewayFileRow } from '../../store/index.ts';

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export const isBatchEndpoint = (value: string): value is BatchEndpoint => (BATCH_ENDPOINTS as readonly string[]).includes(value);

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

// Hex keeps ids to [0-9a-f], like OpenAI's, so they survive any URL or shell untouched.
export const newFileId = () => `file-${randomBytes(12).toString('hex')}`;
export const newBatchId = () => `batch_${randomBytes(16).toString('hex')}`;

/**
 * A batch's output and error files get ids derived from the batch: writing
 * them again after a crash in finalizing lands on the same rows instead of
 * leaving orphans behind.
 */
export const outputFileId = (batchId: string, kind: 'output' | 'error') => `file-${digest(`${batchId}\u0000${kind}`)}`;

/** One id per input line, stable across restarts: the output line's `id`, and the ledger's request_id for that line's calls. */
export const lineRequestId = (batchId: string, line: number) => `batch_req_${digest(`${batchId}\u0000${line}`)}`;

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}

export interface OpenAIFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
}

export function fileObject(row: GatewayFileRow): OpenAIFile {
  return {
    id: row.id,
    object: 'file',
    bytes: row.bytes,
    created_at: seconds(row.created_at)!,
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed',
    status_details: null,
  };
}

export interface OpenAIBatch {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: BatchRow['errors'] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchRow['status'];
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, unknown> | null;
}

export function batchObject(row: BatchRow): OpenAIBatch {
  return {
    id: row.id,
    object: 'batch',
    endpoint: row.endpoint,
    errors: row.errors.length > 0 ? { object: 'list', data: row.errors } : null,
    input_file_id: row.input_file_id,
    completion_window: row.completion_window,
    status: row.status,
    output_file_id: row.output_file_id,
    error_file_id: row.error_file_id,
    created_at: seconds(row.created_at)!,
    in_progress_at: seconds(row.in_progress_at),
    expires_at: seconds(row.expires_at),
    finalizing_at: seconds(row.finalizing_at),
    completed_at: seconds(row.completed_at),
    failed_at: seconds(row.failed_at),
    expired_at: seconds(row.expired_at),
    cancelling_at: seconds(row.cancelling_at),
    cancelled_at: seconds(row.cancelled_at),
    request_counts: { total: row.request_total, completed: row.request_completed, failed: row.request_failed },
    metadata: Object.keys(row.metadata).length > 0 ? row.metadata : null,
  };
}

/** OpenAI's cursor page: the SDKs ask for the next page with `after` = the last id while `has_more` is true. */
export function listObject<T extends { id: string }>(data: T[], hasMore: boolean) {
  return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

/** A recorded line's result when a model call answered (any status): what the output or error file shows as `response`. */
export interface LineResponse {
  status_code: number;
  request_id: string;
  body: unknown;
}

/** A recorded line's result when no call answered it (budget spent, expired, key revoked): the file's `error`. */
export interface LineError {
  code: string;
  message: string;
}

export const isLineResponse = (result: Record<string, unknown>): boolean => typeof result.status_code === 'number';

/** One line of an output or error file, in OpenAI's shape. */
export function outputLine(batchId: string, item: BatchItemRow): string {
  const response = isLineResponse(item.result) ? (item.result as unknown as LineResponse) : null;
  const error = response ? null : (item.result as unknown as LineError);
  return JSON.stringify({ id: lineRequestId(batchId, item.line), custom_id: item.custom_id, response, error });
}
