/**
 * The Store's second half: what AI agents, knowledge bases and the ledger
 * keep. Same rules as port.ts: app id first on every call, times in ms,
 * ids minted by callers, JSON kept as text by the adapters.
 */
export interface AiStore {
  // ---- agents ----
  /** Insert or replace an agent's definition (the agent is also a user with kind 'agent', same id). */
  putAgent(agent: AgentRow): Promise<void>;
  getAgent(appId: string, agentId: string): Promise<AgentRow | undefined>;
  listAgents(appId: string): Promise<AgentRow[]>;
  /** Every agent of every app (the runtime loads them at start). */
  listAllAgents(): Promise<AgentRow[]>;
  deleteAgent(appId: string, agentId: string): Promise<boolean>;

  /** An agent's memory of one conversation: rolling summary and where /reset cut the history. */
  getAgentMemory(appId: string, agentId: string, conversationId: string): Promise<AgentMemoryRow | undefined>;
  putAgentMemory(memory: AgentMemoryRow): Promise<void>;

  // ---- knowledge bases ----
  putKnowledgeBase(kb: KnowledgeBaseRow): Promise<void>;
  getKnowledgeBase(appId: string, kbId: string): Promise<KnowledgeBaseRow | undefined>;
  listKnowledgeBases(appId: string): Promise<KnowledgeBaseRow[]>;
  /** Deletes the knowledge base with its documents and chunks. */
  deleteKnowledgeBase(appId: string, kbId: string): Promise<boolean>;
  /** Inserts or replaces a document and all its chunks in one transaction (old chunks of the document are removed). */
  putDocument(doc: KbDocumentRow, chunks: KbChunkRow[]): Promise<void>;
  listDocuments(appId: string, kbId: string): Promise<KbDocumentRow[]>;
  getDocument(appId: string, documentId: string): Promise<KbDocumentRow | undefined>;
  deleteDocument(appId: string, documentId: string): Promise<boolean>;
  listChunks(appId: string, documentId: string): Promise<KbChunkRow[]>;
  /**
   * Every chunk of every app, in pages, to rebuild the in-memory index at start.
   * Ordered by chunk id (then app id); `after` is the id of the last chunk of
   * the previous page. Chunk ids are unique only within an app, so a page never
   * ends inside a run of equal ids from different apps: it may hold a few more
   * than `limit` rows then. A page shorter than `limit` is the last.
   */
  scanChunks(page: { after?: string; limit: number }): Promise<KbChunkRow[]>;

  // ---- ledger ----
  /**
   * One row per model call attempt. A row is written when the attempt is sent
   * (outcome 'pending') and written again, same id, when it ends: a row whose
   * (app_id, id) exists is replaced. Settled rows are never changed after.
   */
  appendLedger(rows: LedgerRow[]): Promise<void>;
  /** Rows still 'pending' in every app, oldest first: at start-up, the calls a crash left open. */
  listInFlightLedger(limit: number): Promise<LedgerRow[]>;
  /**
   * Ledger rows of an app, newest first, filtered.
   * `before` pages by (created_at, id) of the last row seen.
   */
  listLedger(appId: string, filter: LedgerFilter): Promise<LedgerRow[]>;
  /**
   * Sum of cost_nanos per currency for settled rows matching the filter
   * (budgets), ordered by currency; currencies with no rows are absent.
   * Rows in flight ('pending') are left out: the node running the call holds
   * their worst case in memory until it settles. Time bounds as in LedgerFilter.
   */
  sumLedgerCost(appId: string, filter: { agent_id?: string; key_id?: string; since: number; until?: number }): Promise<{ currency: string; nanos: bigint }[]>;
}

export interface AgentRow {
  app_id: string;
  /** Same as the agent's user id. */
  id: string;
  /** The agent's definition as JSON (validated by the agents room). */
  config: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface AgentMemoryRow {
  app_id: string;
  agent_id: string;
  conversation_id: string;
  /** Rolling summary of turns up to summary_seq; empty when none. */
  summary: string;
  summary_seq: number;
  /** History before this seq is ignored (set by /reset). */
  reset_seq: number;
  updated_at: number;
}

export interface KnowledgeBaseRow {
  app_id: string;
  id: string;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

export interface KbDocumentRow {
  app_id: string;
  kb_id: string;
  id: string;
  title: string;
  source: string;
  format: 'markdown' | 'text';
  /** The full text, kept so a document can be re-chunked when the chunker changes. */
  text: string;
  bytes: number;
  chunk_count: number;
  created_at: number;
  updated_at: number;
}

export interface KbChunkRow {
  app_id: string;
  kb_id: string;
  document_id: string;
  id: string;
  ordinal: number;
  title: string;
  source: string;
  heading_path: string[];
  text: string;
  tokens: number;
}

export interface LedgerRow {
  id: string;
  app_id: string;
  /** Which path made the call. */
  source: 'agent' | 'gateway' | 'batch' | 'shadow' | 'eval';
  agent_id: string | null;
  key_id: string | null;
  user_id: string | null;
  conversation_id: string | null;
  message_id: string | null;
  request_id: string | null;
  /** What the call was for: an agent's 'reply' or 'summary' (folding old turns); null when the caller did not say (/v1, batches). */
  purpose: string | null;
  /** The model name the caller asked for, and what answered. */
  model: string;
  deployment: string | null;
  provider: string | null;
  upstream_model: string | null;
  attempt: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  /** Counted with the o200k tokenizer because upstream reported no usage. */
  estimated: boolean;
  /** Cost in billionths of the currency unit (exact integer). */
  cost_nanos: bigint;
  currency: string;
  price_id: string | null;
  ttft_ms: number | null;
  latency_ms: number;
  /** ok | stopped | cut | error | timeout | rate_limited | pending (in flight) | interrupted ... */
  outcome: string;
  error: string | null;
  created_at: number;
  /** For calls billed in something other than tokens: 'second' (transcription), 'character' (speech), 'search' (rerank). */
  billed_unit?: string | null;
  /** How many of billed_unit the call used (what its cost was worked out from, when the price is in that unit). */
  billed_units?: number | null;
}

export interface LedgerFilter {
  /** created_at >= since. */
  since?: number;
  /** created_at < until, so consecutive windows [since, until) never count a row twice. */
  until?: number;
  agent_id?: string;
  key_id?: string;
  model?: string;
  limit: number;
  before?: { created_at: number; id: string };
}
