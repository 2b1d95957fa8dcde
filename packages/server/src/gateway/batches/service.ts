// The Batch API's front half: what a client's create, get, list and cancel do
// to the store. Running the lines is the BatchRunner's job; this only records
// the intent and tells the runner to look.
import type { BatchRow, BatchStatus, GatewayStore } from '../../store/index.ts';
import type { GatewayCaller } from '../caller.ts';
import { invalidRequest, OpenAiError } from '../errors.ts';
import type { GatewayFiles } from './files.ts';
import { isBatchEndpoint, newBatchId, BATCH_ENDPOINTS } from './wire.ts';

export type BatchServiceStore = Pick<GatewayStore, 'createBatch' | 'getBatch' | 'listBatches' | 'updateBatch'>;

/** The runner, as the service sees it: told when there is work or a cancel. */
export interface BatchSignals {
  wake(): void;
  cancel(appId: string, batchId: string): void;
}

export interface CreateBatch {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata?: Record<string, string> | null;
}

/** OpenAI accepts only this window; we run it as a real deadline. */
export const COMPLETION_WINDOWS: Readonly<Record<string, number>> = { '24h': 24 * 60 * 60 * 1000 };

const CANCELLABLE: BatchStatus[] = ['validating', 'in_progress'];

export class Batches {
  private readonly store: BatchServiceStore;
  private readonly files: GatewayFiles;
  private readonly now: () => number;
  /** Set by the composition root once the runner exists. */
  signals: BatchSignals | undefined;

  constructor(options: { store: BatchServiceStore; files: GatewayFiles; signals?: BatchSignals; now?: () => number }) {
    this.store = options.store;
    this.files = options.files;
    this.signals = options.signals;
    this.now = options.now ?? Date.now;
  }

  async create(caller: GatewayCaller, input: CreateBatch): Promise<BatchRow> {
    if (!isBatchEndpoint(input.endpoint)) {
      throw invalidRequest(`Batches can run ${BATCH_ENDPOINTS.join(' or ')}, not "${input.endpoint}".`, 'endpoint');
    }
    const window = COMPLETION_WINDOWS[input.completion_window];
    if (window === undefined) throw invalidRequest('completion_window must be "24h".', 'completion_window');
    checkMetadata(input.metadata);
    const file = await this.files.find(caller.appId, input.input_file_id);
    if (!file) throw invalidRequest(`No file ${input.input_file_id} in this app; upload the input with POST /v1/files (purpose "batch") first.`, 'input_file_id');
    if (file.purpose !== 'batch') {
      throw invalidRequest(`The file ${file.id} has purpose "${file.purpose}"; a batch reads a file uploaded with purpose "batch".`, 'input_file_id');
    }
    const now = this.now();
    const row: BatchRow = {
      app_id: caller.appId,
      id: newBatchId(),
      key_id: caller.key?.id ?? null,
      status: 'validating',
      endpoint: input.endpoint,
      input_file_id: file.id,
      output_file_id: null,
      error_file_id: null,
      completion_window: input.completion_window,
      request_total: 0,
      request_completed: 0,
      request_failed: 0,
      metadata: input.metadata ?? {},
      errors: [],
      created_at: now,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      expires_at: now + window,
    };
    await this.store.createBatch(row);
    this.signals?.wake();
    return row;
  }

  async get(caller: GatewayCaller, batchId: string): Promise<BatchRow> {
    const row = await this.store.getBatch(caller.appId, batchId);
    if (!row) throw new OpenAiError(404, `No batch ${batchId} in this app.`, 'invalid_request_error', 'not_found');
    return row;
  }

  async list(caller: GatewayCaller, page: { limit: number; after?: string }): Promise<{ rows: BatchRow[]; hasMore: boolean }> {
    const rows = await this.store.listBatches(caller.appId, { ...page, limit: page.limit + 1 });
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /**
   * Moves the batch to cancelling; the runner lets lines already sent finish,
   * starts no more, and ends it cancelled with what was done. A batch that is
   * already cancelling or cancelled is returned as it is.
   */
  async cancel(caller: GatewayCaller, batchId: string): Promise<BatchRow> {
    const now = this.now();
    const moved = await this.store.updateBatch(caller.appId, batchId, { status: 'cancelling', cancelling_at: now }, CANCELLABLE);
    if (moved) {
      this.signals?.cancel(caller.appId, batchId);
      return moved;
    }
    const row = await this.get(caller, batchId);
    if (row.status === 'cancelling' || row.status === 'cancelled') return row;
    throw new OpenAiError(409, `The batch ${batchId} is ${row.status} and can no longer be cancelled.`, 'invalid_request_error', 'batch_not_cancellable');
  }
}

function checkMetadata(metadata: Record<string, string> | null | undefined): void {
  if (!metadata) return;
  const entries = Object.entries(metadata);
  // OpenAI's limits, so metadata that works here works there.
  if (entries.length > 16) throw invalidRequest('metadata holds at most 16 keys.', 'metadata');
  for (const [k, v] of entries) {
    if (k.length > 64) throw invalidRequest(`metadata key "${k.slice(0, 20)}…" is longer than 64 characters.`, 'metadata');
    if (typeof v !== 'string' || v.length > 512) throw invalidRequest(`metadata.${k} must be a string of at most 512 characters.`, 'metadata');
  }
}
