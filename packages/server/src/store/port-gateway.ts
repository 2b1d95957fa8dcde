/**
 * The Store's third part: what the OpenAI-compatible gateway (/v1) keeps —
 * virtual API keys, uploaded files (purpose batch) and batch jobs with their
 * per-line results. Same rules as port.ts: app id first, times in ms, ids
 * minted by callers, JSON kept as text by the adapters.
 */
export interface GatewayStore {
  // ---- virtual keys ----
  createApiKey(key: ApiKeyRow): Promise<void>;
  /** Looks a key up by the SHA-256 of the secret (the one lookup that is not scoped by app: the key names its app). */
  getApiKeyByHash(keyHash: string): Promise<ApiKeyRow | undefined>;
  getApiKey(appId: string, keyId: string): Promise<ApiKeyRow | undefined>;
  /** Newest first; revoked keys included (their revoked_at is set). */
  listApiKeys(appId: string): Promise<ApiKeyRow[]>;
  updateApiKey(appId: string, keyId: string, patch: ApiKeyPatch): Promise<ApiKeyRow | undefined>;

  // ---- files (purpose batch, and batch output/error files) ----
  createGatewayFile(file: GatewayFileRow): Promise<void>;
  getGatewayFile(appId: string, fileId: string): Promise<GatewayFileRow | undefined>;
  /** Newest first; `after` is the id of the last file of the previous page. */
  listGatewayFiles(appId: string, page: { purpose?: string; limit: number; after?: string }): Promise<GatewayFileRow[]>;
  deleteGatewayFile(appId: string, fileId: string): Promise<boolean>;

  // ---- stored responses (/v1/responses with store: true) ----
  /** Inserts or replaces a response (a cancelled or finished one overwrites what was there). */
  putResponse(response: StoredResponseRow): Promise<void>;
  /**
   * putResponse() for several responses at once, in one statement (the
   * gateway groups the responses that finish together into one commit). All
   * or nothing: on any error none is written; the caller retries them one by one.
   */
  putResponses(responses: readonly StoredResponseRow[]): Promise<void>;
  getResponse(appId: string, responseId: string): Promise<StoredResponseRow | undefined>;
  deleteResponse(appId: string, responseId: string): Promise<boolean>;

  // ---- batches ----
  createBatch(batch: BatchRow): Promise<void>;
  getBatch(appId: string, batchId: string): Promise<BatchRow | undefined>;
  /** Newest first; `after` is the id of the last batch of the previous page. */
  listBatches(appId: string, page: { limit: number; after?: string }): Promise<BatchRow[]>;
  /**
   * Applies the patch only when the batch is in one of `fromStatuses` (when
   * given); returns the batch after the change, or undefined when it did not
   * apply. This is how two workers (or a cancel racing a finish) never both win.
   */
  updateBatch(appId: string, batchId: string, patch: BatchPatch, fromStatuses?: BatchStatus[]): Promise<BatchRow | undefined>;
  /** Batches of every app in these statuses, oldest first: the worker resumes them after a restart. */
  listBatchesByStatus(statuses: BatchStatus[], limit: number): Promise<BatchRow[]>;
  /** Records finished lines; a line already recorded is left as it is (a resumed batch never runs a line twice). */
  putBatchItems(items: BatchItemRow[]): Promise<void>;
  /** Every recorded line of a batch, by line number. */
  listBatchItems(appId: string, batchId: string): Promise<BatchItemRow[]>;

  // ---- leases (work one node of several holds at a time) ----
  /**
   * Takes or renews the lease `name` for `owner` until `now + ttlMs`: true when
   * it was free, expired (its `until` before `now`) or already `owner`'s. One
   * statement, so of two nodes racing for a free lease exactly one gets it.
   */
  takeLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `owner` still holds it. */
  dropLease(name: string, owner: string): Promise<void>;
  /** Leases by name, or every lease whose name starts with `prefix`, expired ones included. */
  listLeases(query: { names: string[] } | { prefix: string }): Promise<LeaseRow[]>;
}

export interface LeaseRow {
  name: string;
  owner: string;
  /** Ms since the epoch; the lease is free from then on. */
  until: number;
}

export interface ApiKeyRow {
  app_id: string;
  id: string;
  name: string;
  /** SHA-256 hex of the secret; unique across all apps. */
  key_hash: string;
  /** The first characters of the secret, shown in lists so people can tell keys apart. */
  prefix: string;
  /** Model names this key may call; null = every model. */
  allowed_models: string[] | null;
  monthly_budget_usd: number | null;
  /** Requests per minute; null = no limit. */
  rpm: number | null;
  /** Tokens per minute (prompt + completion); null = no limit. */
  tpm: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  metadata: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface ApiKeyPatch {
  name?: string;
  allowed_models?: string[] | null;
  monthly_budget_usd?: number | null;
  rpm?: number | null;
  tpm?: number | null;
  expires_at?: number | null;
  revoked_at?: number | null;
  metadata?: Record<string, unknown>;
  updated_at: number;
}

export interface GatewayFileRow {
  app_id: string;
  id: string;
  /** batch (uploaded input), batch_output, batch_error. */
  purpose: string;
  filename: string;
  bytes: number;
  /** Where the bytes are, relative to the data dir's gateway-files folder. */
  path: string;
  /** The key that uploaded it (null for files Warbler wrote). */
  key_id: string | null;
  created_at: number;
}

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchRow {
  app_id: string;
  id: string;
  key_id: string | null;
  status: BatchStatus;
  endpoint: string;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  completion_window: string;
  request_total: number;
  request_completed: number;
  request_failed: number;
  metadata: Record<string, unknown>;
  /** Validation errors (OpenAI's `errors.data`), empty when none. */
  errors: { code: string; message: string; line?: number | null; param?: string | null }[];
  created_at: number;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  expires_at: number;
}

export type BatchPatch = Partial<Omit<BatchRow, 'app_id' | 'id' | 'created_at' | 'key_id' | 'endpoint' | 'input_file_id'>>;

export interface BatchItemRow {
  app_id: string;
  batch_id: string;
  /** 0-based line number in the input file. */
  line: number;
  custom_id: string;
  /** ok: a response body is stored; error: an error is. */
  status: 'ok' | 'error';
  /** The OpenAI batch output line's response ({status_code, request_id, body}) or error ({code, message}). */
  result: Record<string, unknown>;
  created_at: number;
}

/**
 * A stored /v1/responses response. `body` is the Response object as the
 * client saw it; `input` the items this turn added; `history` every item of
 * the turns before it (previous_response_id chains), so a follow-up needs one read.
 */
export interface StoredResponseRow {
  app_id: string;
  id: string;
  /** The virtual key that created it; null for the master key. Other keys cannot read it. */
  key_id: string | null;
  status: string;
  previous_response_id: string | null;
  body: Record<string, unknown>;
  /** `body` as JSON text, when the writer has it already (the route serialises the Response once, for the client and the store); read back as `body`. */
  bodyJson?: string;
  input: Record<string, unknown>[];
  history: Record<string, unknown>[];
  created_at: number;
}
