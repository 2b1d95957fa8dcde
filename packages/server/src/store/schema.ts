import type { ColumnType } from 'kysely';
import type { ConversationKind, MemberRole, MessageState, MessageType, UserKind } from '@warbler/protocol';

/**
 * Table shapes as Kysely sees them. Every table carries app_id and every key
 * starts with it, so tenant scoping is also how rows are found.
 * Times are ms since the epoch (BIGINT); JSON is stored as text so both
 * dialects read and write it the same way.
 */
export interface Database {
  apps: AppsTable;
  users: UsersTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  files: FilesTable;
  agents: AgentsTable;
  agent_memory: AgentMemoryTable;
  knowledge_bases: KnowledgeBasesTable;
  kb_documents: KbDocumentsTable;
  kb_chunks: KbChunksTable;
  ledger: LedgerTable;
  api_keys: ApiKeysTable;
  gateway_files: GatewayFilesTable;
  batches: BatchesTable;
  batch_items: BatchItemsTable;
  responses: ResponsesTable;
  leases: LeasesTable;
}

/** Work one node holds at a time (a batch's run), until `until` unless renewed; see 0010_leases. */
export interface LeasesTable {
  name: string;
  owner: string;
  until: number;
}

export interface AppsTable {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface UsersTable {
  app_id: string;
  id: string;
  kind: UserKind;
  name: string;
  avatar_url: string | null;
  /** JSON object. */
  metadata: string;
  token_version: number;
  created_at: number;
  updated_at: number;
}

export interface ConversationsTable {
  app_id: string;
  id: string;
  kind: ConversationKind;
  title: string | null;
  direct_key: string | null;
  last_seq: number;
  last_message_at: number | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface MembersTable {
  app_id: string;
  conversation_id: string;
  user_id: string;
  role: MemberRole;
  read_seq: number;
  delivered_seq: number;
  /** BOOLEAN on Postgres, 0/1 on SQLite. */
  muted: boolean | number;
  joined_at: number;
}

export interface MessagesTable {
  app_id: string;
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string | null;
  type: MessageType;
  /** JSON object. */
  content: string;
  state: MessageState;
  created_at: number;
  updated_at: number;
  edited_at: number | null;
}

export interface FilesTable {
  app_id: string;
  id: string;
  conversation_id: string;
  uploader_id: string;
  name: string;
  mime: string;
  size: number;
  path: string;
  created_at: number;
}

export interface AgentsTable {
  app_id: string;
  id: string;
  /** JSON object. */
  config: string;
  created_at: number;
  updated_at: number;
}

export interface AgentMemoryTable {
  app_id: string;
  agent_id: string;
  conversation_id: string;
  summary: string;
  summary_seq: number;
  reset_seq: number;
  updated_at: number;
}

export interface KnowledgeBasesTable {
  app_id: string;
  id: string;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

export interface KbDocumentsTable {
  app_id: string;
  id: string;
  kb_id: string;
  title: string;
  source: string;
  format: 'markdown' | 'text';
  text: string;
  bytes: number;
  chunk_count: number;
  created_at: number;
  updated_at: number;
}

export interface KbChunksTable {
  app_id: string;
  id: string;
  kb_id: string;
  document_id: string;
  ordinal: number;
  title: string;
  source: string;
  /** JSON array of strings. */
  heading_path: string;
  text: string;
  tokens: number;
}

export interface LedgerTable {
  app_id: string;
  id: string;
  source: 'agent' | 'gateway' | 'batch' | 'shadow' | 'eval';
  agent_id: string | null;
  key_id: string | null;
  user_id: string | null;
  conversation_id: string | null;
  message_id: string | null;
  request_id: string | null;
  purpose: string | null;
  model: string;
  deployment: string | null;
  provider: string | null;
  upstream_model: string | null;
  attempt: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  /** BOOLEAN on Postgres, 0/1 on SQLite. */
  estimated: boolean | number;
  /**
   * BIGINT written as a bigint. Not selectable as is: both drivers would hand
   * it back as a JS number, exact only below 2^53, so it is read through
   * cast(... as text) (see kysely-ai-store.ts).
   */
  cost_nanos: ColumnType<never, bigint, never>;
  currency: string;
  price_id: string | null;
  ttft_ms: number | null;
  latency_ms: number;
  /** 0022: set for calls billed in seconds, characters or searches. */
  billed_unit: string | null;
  billed_units: number | null;
  outcome: string;
  error: string | null;
  created_at: number;
}

export interface ApiKeysTable {
  app_id: string;
  id: string;
  name: string;
  key_hash: string;
  prefix: string;
  /** JSON array of strings, or null for every model. */
  allowed_models: string | null;
  monthly_budget_usd: number | null;
  rpm: number | null;
  tpm: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  /** JSON object. */
  metadata: string;
  created_at: number;
  updated_at: number;
}

export interface GatewayFilesTable {
  app_id: string;
  id: string;
  purpose: string;
  filename: string;
  bytes: number;
  path: string;
  key_id: string | null;
  created_at: number;
}

export interface BatchesTable {
  app_id: string;
  id: string;
  key_id: string | null;
  status: string;
  endpoint: string;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  completion_window: string;
  request_total: number;
  request_completed: number;
  request_failed: number;
  /** JSON object. */
  metadata: string;
  /** JSON array. */
  errors: string;
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

export interface BatchItemsTable {
  app_id: string;
  batch_id: string;
  line: number;
  custom_id: string;
  status: 'ok' | 'error';
  /** JSON object. */
  result: string;
  created_at: number;
}

export interface ResponsesTable {
  app_id: string;
  id: string;
  key_id: string | null;
  status: string;
  previous_response_id: string | null;
  /** JSON text: the Response object, this turn's input items, the earlier turns' items. */
  body: string;
  input: string;
  history: string;
  created_at: number;
}
