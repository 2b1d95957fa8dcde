import { z } from 'zod';

/**
 * Encryption at rest, as the operator sees it: which data key version an app
 * seals with, and how far the background re-sealing (after a rotation, or an
 * upgrade from plaintext) has come. Keys themselves never leave the server.
 */
export const EncryptionColumn = z.enum([
  'messages.content', 'kb_documents.text', 'kb_chunks.text',
  // Other rooms' customer text: agents' conversation memory, stored /v1 responses, webhook delivery bodies,
  // audit before/after values, FAQ pairs and uploads waiting to be parsed into knowledge.
  'agent_memory.summary', 'responses.body', 'responses.input', 'responses.history', 'webhook_deliveries.body',
  'audit_log.before', 'audit_log.after', 'kb_faqs.question', 'kb_faqs.answer', 'kb_ingest_jobs.data',
  // Evaluation datasets: the conversation context of each item, and each replayed answer.
  'dataset_items.data', 'dataset_results.answer',
  // Support: the internal notes staff write about a customer's conversation, and the customer's own words
  // on its row (why they asked for a person, their rating's comment).
  'support_notes.text', 'support_conversations.handoff_detail', 'support_conversations.csat_comment',
  // Batch API: each line's result (the model's answer to a customer's request).
  'batch_items.result',
  // Agents: the configuration, which holds the company's system prompt.
  'agents.config',
]);
export type EncryptionColumn = z.infer<typeof EncryptionColumn>;

export const EncryptionJob = z.object({
  state: z.enum(['running', 'done']),
  target_version: z.number().int(),
  /** Where the job is: a column, 'files', 'check' (counting what is left), or 'done'. */
  phase: z.string(),
  /** Rows and files re-sealed so far. */
  resealed: z.number().int(),
  /** Walks over the app's data; another starts when rows written meanwhile by another node are still old. */
  passes: z.number().int(),
  started_at: z.number().int(),
  finished_at: z.number().int().nullable(),
});

export const AppEncryptionStatus = z.object({
  app_id: z.string(),
  current_version: z.number().int(),
  versions: z.array(z.number().int()),
  /** Each data key version and when it was made (ms). The keys themselves never leave the server. */
  keys: z.array(z.object({ version: z.number().int(), created_at: z.number().int() })),
  job: EncryptionJob.nullable(),
  /** Rows not yet sealed with the current version (plaintext or an older version), per column. */
  remaining: z.record(EncryptionColumn, z.number().int()),
});
export type AppEncryptionStatus = z.infer<typeof AppEncryptionStatus>;

export const EncryptionOverview = z.object({
  enabled: z.boolean(),
  /** Where the master secret comes from: the environment, the data dir's encryption.key, or off. */
  key_source: z.enum(['env', 'file', 'off']),
  /** A fingerprint of the key-encryption key (not the key): compare it across nodes. */
  key_id: z.string().nullable(),
  apps: z.array(AppEncryptionStatus),
});
export type EncryptionOverview = z.infer<typeof EncryptionOverview>;
