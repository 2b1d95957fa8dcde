import { z } from 'zod';
import { ConversationKind, Id } from './models.ts';

// The audit log, runtime providers, a user's data on request and retention:
// what the console and an app's backend send and get back.

export const AuditActorKind = z.enum(['master_key', 'app_secret', 'user', 'system']);
export type AuditActorKind = z.infer<typeof AuditActorKind>;

const Word = z.string().min(1).max(100).regex(/^[a-z0-9_.]+$/, 'lowercase letters, digits, _ and . only');

export const AuditQuery = z.object({
  action: Word.optional(),
  resource: Word.optional(),
  actor_kind: AuditActorKind.optional(),
  since: z.coerce.number().int().min(0).max(8.64e15).optional(),
  until: z.coerce.number().int().min(0).max(8.64e15).optional(),
  before_seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditEntry = z.object({
  id: z.string(),
  app_id: z.string(),
  seq: z.number().int(),
  at: z.number().int(),
  actor: z.object({ kind: z.string(), id: z.string().nullable() }),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  action: z.string(),
  resource: z.string(),
  resource_id: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  request_id: z.string().nullable(),
  prev_hash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** GET /api/audit: a page, newest first; next_before_seq continues it (null on the last page). */
export const AuditPage = z.object({ entries: z.array(AuditEntry), next_before_seq: z.number().int().nullable() });
export type AuditPage = z.infer<typeof AuditPage>;

/** GET /admin/audit: the installation chain's entries, newest first. */
export const InstallationAuditPage = z.object({ entries: z.array(AuditEntry) });
export type InstallationAuditPage = z.infer<typeof InstallationAuditPage>;

/**
 * The chain's head (newest entry's seq and hash) signed with Ed25519 by a key
 * derived from the master secret. Export it and keep it outside Warbler: a
 * later verification against it shows entries deleted since.
 */
export const SignedAuditHead = z.object({
  app_id: z.string().min(1).max(200),
  seq: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hash in lowercase hex'),
  at: z.number().int().min(0),
  key_id: z.string().regex(/^[0-9a-f]{16}$/, 'the signing key id (16 hex characters)'),
  signature: z.string().min(1).max(200).regex(/^[A-Za-z0-9_-]+$/, 'base64url'),
});
export type SignedAuditHead = z.infer<typeof SignedAuditHead>;

export const AuditHeadExport = z.object({
  head: SignedAuditHead.nullable(),
  /** The Ed25519 public key (PEM, SPKI) that checks the signature without any secret. */
  public_key: z.string(),
  key_id: z.string(),
});
export type AuditHeadExport = z.infer<typeof AuditHeadExport>;

export const AuditVerifyRequest = z.object({ head: SignedAuditHead }).strict();

export const AuditVerification = z.object({
  app_id: z.string(),
  ok: z.boolean(),
  entries: z.number().int(),
  head: z.object({ seq: z.number().int(), hash: z.string() }),
  /** The signed head the chain was checked against: the stored one, or the one given. */
  signed_head: SignedAuditHead.nullable(),
  /**
   * The first thing wrong: an entry changed, relinked or missing (gap), or the
   * signed head: the chain stops before it (truncated), holds another entry at
   * its seq (head_mismatch), its signature does not verify, or it was removed.
   */
  broken: z.object({
    seq: z.number().int(),
    reason: z.enum(['hash_mismatch', 'prev_hash_mismatch', 'gap', 'truncated', 'head_mismatch', 'head_signature_invalid', 'head_missing']),
  }).optional(),
});
export type AuditVerification = z.infer<typeof AuditVerification>;

// ---- providers added at run time ----

export const ProviderKind = z.enum(['openai', 'openai-compatible', 'deepseek', 'doubao', 'qwen', 'ollama']);
export type ProviderKind = z.infer<typeof ProviderKind>;

const ModelName = z.string().min(1).max(200).regex(/^[^\s\u0000-\u001f]+$/, 'no spaces or control characters');
const Price = z.number().min(0).max(1_000_000);

export const ProviderModel = z.object({
  /** The model id clients ask for (e.g. deepseek-chat). */
  name: ModelName,
  /** The id sent upstream, when it differs. */
  upstream: ModelName.optional(),
  /** Per 1M tokens. */
  input_per_million: Price.optional(),
  output_per_million: Price.optional(),
  cached_input_per_million: Price.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).default('USD'),
});
export type ProviderModel = z.infer<typeof ProviderModel>;

export const ProviderInput = z.object({
  id: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _'),
  kind: ProviderKind,
  base_url: z.string().url().max(2_000).optional(),
  api_key: z.string().min(1).max(4_000).optional(),
  models: z.array(ProviderModel).min(1).max(100),
});
export type ProviderInput = z.infer<typeof ProviderInput>;

/** An edit: every field optional; a missing api_key keeps the stored one. */
export const ProviderPatch = ProviderInput.omit({ id: true }).partial();
export type ProviderPatch = z.infer<typeof ProviderPatch>;

export const ProviderView = z.object({
  id: z.string(),
  kind: z.string(),
  base_url: z.string().nullable(),
  /** The key's last four characters behind dots; never the key. */
  api_key: z.string().nullable(),
  models: z.array(ProviderModel),
  /** console: added here, editable; file: warbler.yaml; env: an environment variable. The last two are read-only. */
  source: z.enum(['console', 'file', 'env']),
  updated_at: z.number().int().nullable(),
});
export type ProviderView = z.infer<typeof ProviderView>;

export const ProviderList = z.object({ providers: z.array(ProviderView) });
export type ProviderList = z.infer<typeof ProviderList>;

/** POST /api/providers/{id}/test: which of the provider's models to try (its first when absent). */
export const ProviderTestRequest = z.object({ model: z.string().min(1).max(200).optional() });
export type ProviderTestRequest = z.infer<typeof ProviderTestRequest>;

export const ProviderTestResult = z.object({
  ok: z.boolean(),
  model: z.string(),
  latency_ms: z.number().int(),
  message: z.string(),
});
export type ProviderTestResult = z.infer<typeof ProviderTestResult>;

// ---- retention ----

export const RetentionScope = z.union([ConversationKind, z.literal('all')]);
export type RetentionScope = z.infer<typeof RetentionScope>;

export const RetentionPolicy = z.object({
  /** Which conversations: one kind, or 'all' for every kind without its own policy. */
  kind: RetentionScope,
  /** Conversations with no message for this many days are removed. */
  days: z.number().int().min(1).max(36_500),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const RetentionPolicies = z.object({ policies: z.array(RetentionPolicy).max(4) });
export type RetentionPolicies = z.infer<typeof RetentionPolicies>;

export const RetentionPreview = z.object({
  conversations: z.number().int(),
  messages: z.number().int(),
  files: z.number().int(),
  /** The first few, oldest activity first. */
  sample: z.array(z.object({ id: Id, kind: ConversationKind, title: z.string().nullable(), last_activity_at: z.number().int() })),
});
export type RetentionPreview = z.infer<typeof RetentionPreview>;

/** What POST /api/retention/enforce removed. */
export const RetentionEnforced = z.object({ conversations: z.number().int(), messages: z.number().int(), files: z.number().int() });
export type RetentionEnforced = z.infer<typeof RetentionEnforced>;

// ---- a user's data ----

export const UserErasure = z.object({
  user_id: z.string(),
  messages_replaced: z.number().int(),
  files_removed: z.number().int(),
  memberships_removed: z.number().int(),
  ledger_rows_anonymized: z.number().int(),
  agent_memories_removed: z.number().int(),
  /** Support conversations the user was the customer or assignee of, re-attributed to the pseudonym (their rating comment and words quoted as handoff detail dropped). */
  support_conversations_anonymized: z.number().int(),
  /** Internal notes removed: those the user wrote, and those about them as a customer. */
  support_notes_removed: z.number().int(),
  /** Webhook deliveries (the outbox and its log) whose event named the user. */
  webhook_deliveries_removed: z.number().int(),
});
export type UserErasure = z.infer<typeof UserErasure>;
