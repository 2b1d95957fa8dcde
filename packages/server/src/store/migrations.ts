import { Migrator, SqliteAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Versioned schema changes, applied in name order and recorded in
 * warbler_migrations. Never edit a migration that has shipped: add a new one.
 * The DDL goes through Kysely's schema builder so one definition serves both
 * dialects (BOOLEAN becomes NUMERIC affinity on SQLite, which stores 0/1).
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('avatar_url', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('users_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('users_by_created').on('users').columns(['app_id', 'created_at', 'id']).execute();

      await db.schema
        .createTable('conversations')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('direct_key', 'text')
        .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_message_at', 'bigint')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('conversations_pk', ['app_id', 'id'])
        .execute();
      await db.schema
        .createIndex('conversations_direct_key')
        .on('conversations')
        .columns(['app_id', 'direct_key'])
        .unique()
        .where('direct_key', 'is not', null)
        .execute();

      await db.schema
        .createTable('members')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('read_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('delivered_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('muted', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('members_pk', ['app_id', 'conversation_id', 'user_id'])
        .addForeignKeyConstraint('members_conversation_fk', ['app_id', 'conversation_id'], 'conversations', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .addForeignKeyConstraint('members_user_fk', ['app_id', 'user_id'], 'users', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      // Conversation lists and realtime routing start from the user.
      await db.schema.createIndex('members_by_user').on('members').columns(['app_id', 'user_id']).execute();

      await db.schema
        .createTable('messages')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        // No foreign key to users: system messages may come from a sender that is not a user row.
        .addColumn('sender_id', 'text', (c) => c.notNull())
        .addColumn('client_msg_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('edited_at', 'bigint')
        .addPrimaryKeyConstraint('messages_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('messages_conversation_fk', ['app_id', 'conversation_id'], 'conversations', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      // Dense seq is enforced here as well as by the counter: a bug can never store two messages at one seq.
      await db.schema
        .createIndex('messages_by_seq')
        .on('messages')
        .columns(['app_id', 'conversation_id', 'seq'])
        .unique()
        .execute();
      await db.schema
        .createIndex('messages_client_msg_id')
        .on('messages')
        .columns(['app_id', 'sender_id', 'client_msg_id'])
        .unique()
        .where('client_msg_id', 'is not', null)
        .execute();
      // Reconnect catch-up ("what changed since"). Partial: most messages are
      // never updated, so the send path does not pay for this index at all.
      await db.schema
        .createIndex('messages_updated')
        .on('messages')
        .columns(['app_id', 'conversation_id', 'updated_at'])
        .where(sql.ref('updated_at'), '>', sql.ref('created_at'))
        .execute();

      await db.schema
        .createTable('files')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('uploader_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('mime', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('files_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('files_conversation_fk', ['app_id', 'conversation_id'], 'conversations', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
    },
  },
  '0002_ai': {
    async up(db: Kysely<any>) {
      // No foreign key to users: the agents room decides when the agent's user row is written.
      await db.schema
        .createTable('agents')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('agents_pk', ['app_id', 'id'])
        .execute();

      await db.schema
        .createTable('agent_memory')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('summary_seq', 'integer', (c) => c.notNull())
        .addColumn('reset_seq', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_memory_pk', ['app_id', 'agent_id', 'conversation_id'])
        .addForeignKeyConstraint('agent_memory_agent_fk', ['app_id', 'agent_id'], 'agents', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();

      await db.schema
        .createTable('knowledge_bases')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('knowledge_bases_pk', ['app_id', 'id'])
        .execute();

      await db.schema
        .createTable('kb_documents')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('chunk_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_documents_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('kb_documents_kb_fk', ['app_id', 'kb_id'], 'knowledge_bases', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('kb_documents_by_kb').on('kb_documents').columns(['app_id', 'kb_id', 'created_at', 'id']).execute();

      await db.schema
        .createTable('kb_chunks')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('document_id', 'text', (c) => c.notNull())
        .addColumn('ordinal', 'integer', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('heading_path', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('tokens', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_chunks_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('kb_chunks_document_fk', ['app_id', 'document_id'], 'kb_documents', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('kb_chunks_by_document').on('kb_chunks').columns(['app_id', 'document_id', 'ordinal']).execute();
      // scanChunks walks every app's chunks by id (its cursor is a chunk id), so this one index does not start with app_id.
      await db.schema.createIndex('kb_chunks_scan').on('kb_chunks').columns(['id', 'app_id']).execute();

      await db.schema
        .createTable('ledger')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('key_id', 'text')
        .addColumn('user_id', 'text')
        .addColumn('conversation_id', 'text')
        .addColumn('message_id', 'text')
        .addColumn('request_id', 'text')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text')
        .addColumn('provider', 'text')
        .addColumn('upstream_model', 'text')
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
        .addColumn('cached_tokens', 'integer', (c) => c.notNull())
        .addColumn('completion_tokens', 'integer', (c) => c.notNull())
        .addColumn('reasoning_tokens', 'integer', (c) => c.notNull())
        .addColumn('estimated', 'boolean', (c) => c.notNull())
        .addColumn('cost_nanos', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('price_id', 'text')
        .addColumn('ttft_ms', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_pk', ['app_id', 'id'])
        .execute();
      // id ends each index so listLedger's (created_at, id) order comes straight off it.
      await db.schema.createIndex('ledger_by_time').on('ledger').columns(['app_id', 'created_at', 'id']).execute();
      // Partial: gateway rows have no agent and agent rows no key, so each index holds only the rows it can serve.
      await db.schema
        .createIndex('ledger_by_agent')
        .on('ledger')
        .columns(['app_id', 'agent_id', 'created_at', 'id'])
        .where('agent_id', 'is not', null)
        .execute();
      await db.schema
        .createIndex('ledger_by_key')
        .on('ledger')
        .columns(['app_id', 'key_id', 'created_at', 'id'])
        .where('key_id', 'is not', null)
        .execute();
    },
  },
  '0003_gateway': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_keys')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('allowed_models', 'text')
        .addColumn('monthly_budget_usd', 'double precision')
        .addColumn('rpm', 'integer')
        .addColumn('tpm', 'integer')
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('api_keys_pk', ['app_id', 'id'])
        .execute();
      // A secret names its key (and app) on its own, so its hash is unique across apps.
      await db.schema.createIndex('api_keys_by_hash').on('api_keys').column('key_hash').unique().execute();
      await db.schema.createIndex('api_keys_by_created').on('api_keys').columns(['app_id', 'created_at', 'id']).execute();

      await db.schema
        .createTable('gateway_files')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('gateway_files_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('gateway_files_by_created').on('gateway_files').columns(['app_id', 'created_at', 'id']).execute();

      // No foreign keys to gateway_files: a batch outlives the deletion of its input file, as on OpenAI.
      await db.schema
        .createTable('batches')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('input_file_id', 'text', (c) => c.notNull())
        .addColumn('output_file_id', 'text')
        .addColumn('error_file_id', 'text')
        .addColumn('completion_window', 'text', (c) => c.notNull())
        .addColumn('request_total', 'integer', (c) => c.notNull())
        .addColumn('request_completed', 'integer', (c) => c.notNull())
        .addColumn('request_failed', 'integer', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('errors', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('in_progress_at', 'bigint')
        .addColumn('finalizing_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .addColumn('failed_at', 'bigint')
        .addColumn('expired_at', 'bigint')
        .addColumn('cancelling_at', 'bigint')
        .addColumn('cancelled_at', 'bigint')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('batches_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('batches_by_created').on('batches').columns(['app_id', 'created_at', 'id']).execute();
      // The worker's resume query crosses apps: by status, oldest first.
      await db.schema.createIndex('batches_by_status').on('batches').columns(['status', 'created_at']).execute();

      await db.schema
        .createTable('batch_items')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('custom_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('batch_items_pk', ['app_id', 'batch_id', 'line'])
        .addForeignKeyConstraint('batch_items_batch_fk', ['app_id', 'batch_id'], 'batches', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
    },
  },
  '0004_ledger_in_flight': {
    async up(db: Kysely<any>) {
      // Rows of calls in flight (outcome 'pending') are found at start-up, across apps, to settle those a crash left open;
      // partial, so it holds only the few rows in flight, whatever the size of the ledger.
      await db.schema.createIndex('ledger_in_flight').on('ledger').columns(['created_at', 'app_id', 'id']).where(sql.ref('outcome'), '=', 'pending').execute();
    },
  },
  '0007_conversation_memory': {
    async up(db: Kysely<any>) {
      // What a call was for ('reply', 'summary'), so usage reports can show what an agent's memory costs; null for older rows and /v1.
      await db.schema.alterTable('ledger').addColumn('purpose', 'text').execute();
    },
  },
  '0008_responses': {
    async up(db: Kysely<any>) {
      // /v1/responses kept for previous_response_id, retrieve and input_items; read by id only, so the key is the index.
      await db.schema
        .createTable('responses')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('previous_response_id', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('history', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('responses_pk', ['app_id', 'id'])
        .execute();
    },
  },
  '0013_kb_ingest': {
    async up(db: Kysely<any>) {
      // Uploads waiting to be parsed, and why one failed; the file's bytes (base64) stay until it is ready, so a restart or a retry loses nothing.
      await db.schema
        .createTable('kb_ingest_jobs')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('progress', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_ingest_jobs_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('kb_ingest_jobs_kb_fk', ['app_id', 'kb_id'], 'knowledge_bases', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('kb_ingest_jobs_by_kb').on('kb_ingest_jobs').columns(['app_id', 'kb_id', 'created_at']).execute();
      await db.schema.createIndex('kb_ingest_jobs_waiting').on('kb_ingest_jobs').columns(['status', 'created_at']).execute();
      // Chunk size, overlap, top-k and citation style per knowledge base, as JSON; absent means the defaults.
      await db.schema
        .createTable('kb_settings')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_settings_pk', ['app_id', 'kb_id'])
        .addForeignKeyConstraint('kb_settings_kb_fk', ['app_id', 'kb_id'], 'knowledge_bases', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      // Question/answer pairs answered as they are, without a model call.
      await db.schema
        .createTable('kb_faqs')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('question', 'text', (c) => c.notNull())
        .addColumn('answer', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_faqs_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('kb_faqs_kb_fk', ['app_id', 'kb_id'], 'knowledge_bases', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('kb_faqs_by_kb').on('kb_faqs').columns(['app_id', 'kb_id', 'created_at']).execute();
    },
  },
  '0010_leases': {
    async up(db: Kysely<any>) {
      // Several nodes on one database: a batch is run by the node holding its lease; a dead node's lease runs out and another takes it.
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('until', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0011_support': {
    async up(db: Kysely<any>) {
      // The support room's tables (src/support): one row per support conversation beside the chat conversation it describes.
      await db.schema
        .createTable('support_conversations')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('locale', 'text', (c) => c.notNull())
        .addColumn('assignee_id', 'text')
        .addColumn('handoff_reason', 'text')
        .addColumn('handoff_detail', 'text')
        .addColumn('handoff_at', 'bigint')
        .addColumn('handoffs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reopens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('outcome', 'text')
        .addColumn('no_knowledge_streak', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('first_customer_at', 'bigint')
        .addColumn('first_response_at', 'bigint')
        .addColumn('first_human_response_at', 'bigint')
        .addColumn('human_messages', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('csat_rating', 'integer')
        .addColumn('csat_comment', 'text')
        .addColumn('csat_at', 'bigint')
        .addColumn('model', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .addPrimaryKeyConstraint('support_conversations_pk', ['app_id', 'conversation_id'])
        .execute();
      // One open conversation per visitor and agent (a closed one is history: the visitor's next visit starts anew);
      // queues read by status and recency.
      await db.schema.createIndex('support_open_by_customer').on('support_conversations').columns(['app_id', 'customer_id', 'agent_id']).unique()
        .where(sql.ref('status'), '<>', 'closed').execute();
      await db.schema.createIndex('support_by_status').on('support_conversations').columns(['app_id', 'status', 'updated_at']).execute();
      await db.schema.createIndex('support_by_created').on('support_conversations').columns(['app_id', 'created_at']).execute();
      // Every handoff, resolve and reopen, with its reason: the report counts these, not just the last one.
      await db.schema
        .createTable('support_events')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('actor_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('support_events_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('support_events_by_conversation').on('support_events').columns(['app_id', 'conversation_id', 'created_at']).execute();
      await db.schema
        .createTable('support_notes')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('author_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('support_notes_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('support_notes_by_conversation').on('support_notes').columns(['app_id', 'conversation_id', 'created_at']).execute();
      await db.schema
        .createTable('support_canned_replies')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('support_canned_replies_pk', ['app_id', 'id'])
        .execute();
      // Who may work the inbox (the `support` role), granted by the app.
      await db.schema
        .createTable('support_staff')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('support_staff_pk', ['app_id', 'user_id'])
        .execute();
      // Handoff policy and working hours: agent_id '' is the app's default, an agent's row overrides it.
      await db.schema
        .createTable('support_policies')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('support_policies_pk', ['app_id', 'agent_id'])
        .execute();
      // A support conversation's exact cost is the sum of its ledger rows (copilot included): read by conversation, not by time.
      await db.schema.createIndex('ledger_by_conversation').on('ledger').columns(['app_id', 'conversation_id']).where('conversation_id', 'is not', null).execute();
    },
  },
  '0012_webhooks': {
    async up(db: Kysely<any>) {
      // The webhooks room's tables (src/webhooks/webhook-store.ts). The secret is sealed with the master key.
      await db.schema
        .createTable('webhook_endpoints')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('secret_prefix', 'text', (c) => c.notNull())
        // After a rotation the old secret also signs until then, so receivers can switch without missing a delivery.
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_endpoints_pk', ['app_id', 'id'])
        .execute();
      // The outbox: one row per event per endpoint, written before the action that caused it answers.
      // claimed_by/claimed_until are a lease on the row (as in the leases table): one node delivers it at a time.
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute();
      // The worker's question, across apps: which pending rows are due. Partial, so it holds only the rows still to deliver.
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['next_attempt_at']).where(sql.ref('status'), '=', 'pending').execute();
      await db.schema.createIndex('webhook_deliveries_by_endpoint').on('webhook_deliveries').columns(['app_id', 'endpoint_id', 'created_at']).execute();
      await db.schema
        .createTable('webhook_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  },
  '0018_widget': {
    async up(db: Kysely<any>) {
      // The widget room's tables (src/widget): who may embed an app's widget, and the signed identities already used.
      await db.schema
        .createTable('widget_settings')
        .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id'))
        .addColumn('allowed_origins', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('captcha_url', 'text')
        .addColumn('identified_only', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('identity_secret', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // A signature is remembered until it expires, so a replay of it is refused on every node.
      await db.schema
        .createTable('widget_identity_uses')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('widget_identity_uses_pk', ['app_id', 'signature'])
        .execute();
      await db.schema.createIndex('widget_identity_uses_by_expiry').on('widget_identity_uses').columns(['expires_at']).execute();
    },
  },
  '0015_encryption': {
    async up(db: Kysely<any>) {
      // The at-rest room's tables (src/at-rest): each app's data keys, sealed by the key-encryption key (never stored),
      // and the background job that re-seals an app's rows after a rotation or an upgrade from plaintext.
      await db.schema
        .createTable('data_keys')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sealed_key', 'text', (c) => c.notNull())
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('data_keys_pk', ['app_id', 'version'])
        .execute();
      await db.schema
        .createTable('encryption_jobs')
        .addColumn('app_id', 'text', (c) => c.primaryKey())
        .addColumn('target_version', 'integer', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('resealed', 'bigint', (c) => c.notNull())
        .addColumn('passes', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
    },
  },
  '0016_audit': {
    async up(db: Kysely<any>) {
      // The audit room's hash chain, one per app (src/audit): rows are only inserted; seq is dense per app, so a deleted row shows as a gap.
      await db.schema
        .createTable('audit_log')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text')
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('request_id', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['app_id', 'seq'])
        .execute();
      await db.schema.createIndex('audit_log_by_time').on('audit_log').columns(['app_id', 'at']).execute();
      // Providers added in the console (settings/console-providers.ts); installation-wide like warbler.yaml's; the key sealed.
      await db.schema
        .createTable('console_providers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text')
        .addColumn('sealed_key', 'text')
        .addColumn('key_hint', 'text')
        .addColumn('models', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // Retention per app and conversation kind (src/privacy): 'all' covers kinds without their own row.
      await db.schema
        .createTable('retention_policies')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('days', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('retention_policies_pk', ['app_id', 'kind'])
        .execute();
    },
  },
  '0021_audit_heads': {
    async up(db: Kysely<any>) {
      // The audit room's signed chain heads (src/audit, decision 0027): per app, the newest entry's seq and hash, signed
      // with a key derived from the master secret, so deleting the newest entries shows as a head the chain no longer reaches.
      await db.schema
        .createTable('audit_heads')
        .addColumn('app_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0017_experiments': {
    async up(db: Kysely<any>) {
      // The experiments room (src/experiments): experiments with their settings, every measured live or candidate answer, and A/B assignments.
      await db.schema
        .createTable('experiments')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stopped_reason', 'text')
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('counters', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiments_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('experiments_by_agent').on('experiments').columns(['app_id', 'agent_id', 'created_at']).execute();
      await db.schema
        .createTable('experiment_turns')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('experiment_id', 'text', (c) => c.notNull())
        .addColumn('arm', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('cost_nanos', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('cost_usd_nanos', 'bigint')
        .addColumn('judge_usd_nanos', 'bigint', (c) => c.notNull())
        .addColumn('ttft_ms', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('support', 'real')
        .addColumn('cited', 'integer', (c) => c.notNull())
        .addColumn('judge_grounded', 'integer')
        .addColumn('preference', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_turns_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('experiment_turns_experiment_fk', ['app_id', 'experiment_id'], 'experiments', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('experiment_turns_by_experiment').on('experiment_turns').columns(['app_id', 'experiment_id', 'created_at']).execute();
      await db.schema
        .createTable('experiment_assignments')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('experiment_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('arm', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_assignments_pk', ['app_id', 'experiment_id', 'conversation_id'])
        .addForeignKeyConstraint('experiment_assignments_experiment_fk', ['app_id', 'experiment_id'], 'experiments', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
    },
  },
  '0023_guardrail_interventions': {
    async up(db: Kysely<any>) {
      // The guardrails room's interventions (src/guardrails/intervention-store.ts): every word block, mask or flag, personal
      // data masked and planted instruction stripped, for the console; ids are time-ordered, rows removed after the retention period.
      await db.schema
        .createTable('guardrail_interventions')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('who', 'text')
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('word', 'text')
        .addColumn('excerpt', 'text')
        .addPrimaryKeyConstraint('guardrail_interventions_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('guardrail_interventions_by_rule').on('guardrail_interventions').columns(['app_id', 'rule', 'id']).execute();
      await db.schema.createIndex('guardrail_interventions_by_time').on('guardrail_interventions').columns(['at']).execute();
    },
  },
  '0014_kb_vectors': {
    async up(db: Kysely<any>) {
      // Knowledge embeddings by content hash (src/kb/retrieval): a text embedded once per app and model, whatever document holds it.
      await db.schema
        .createTable('kb_embeddings')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('dims', 'integer', (c) => c.notNull())
        .addColumn('vector', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_embeddings_pk', ['app_id', 'model', 'content_hash'])
        .execute();
      // Per knowledge base: which embedding and rerank models hybrid retrieval uses (none: BM25 only).
      await db.schema
        .createTable('kb_retrieval_settings')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('embedding_model', 'text')
        .addColumn('rerank_model', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_retrieval_settings_pk', ['app_id', 'kb_id'])
        .execute();
    },
  },
  '0020_search_reactions': {
    async up(db: Kysely<any>) {
      // The search room's blind index (src/search, decision 0026): a message's terms as HMACs under the app's index key, never the words.
      await db.schema
        .createTable('message_terms')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('term', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('message_terms_pk', ['app_id', 'term', 'message_id'])
        .execute();
      await db.schema.createIndex('message_terms_by_message').on('message_terms').columns(['app_id', 'message_id']).execute();
      await db.schema.createIndex('message_terms_by_conversation').on('message_terms').columns(['app_id', 'conversation_id']).execute();
      // The reactions room (src/reactions): who reacted to which message with which emoji.
      await db.schema
        .createTable('message_reactions')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('emoji', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('message_reactions_pk', ['app_id', 'message_id', 'user_id', 'emoji'])
        .execute();
      await db.schema.createIndex('message_reactions_by_user').on('message_reactions').columns(['app_id', 'user_id']).execute();
      await db.schema.createIndex('message_reactions_by_conversation').on('message_reactions').columns(['app_id', 'conversation_id']).execute();
    },
  },
  '0022_ledger_units': {
    async up(db: Kysely<any>) {
      // Audio and rerank calls are billed in seconds, characters or searches, not tokens: the row keeps what it was billed for.
      await db.schema.alterTable('ledger').addColumn('billed_unit', 'text').execute();
      await db.schema.alterTable('ledger').addColumn('billed_units', 'bigint').execute();
    },
  },
  '0024_datasets': {
    async up(db: Kysely<any>) {
      // The datasets room (src/datasets, decision 0029): evaluation sets cut from real conversations, their runs and results.
      await db.schema
        .createTable('datasets')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('filters', 'text', (c) => c.notNull())
        .addColumn('item_count', 'integer', (c) => c.notNull())
        .addColumn('good_items', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('datasets_pk', ['app_id', 'id'])
        .execute();
      // `data` (the context and the reference answer, as JSON) is sealed like message content.
      await db.schema
        .createTable('dataset_items')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('feedback', 'text')
        .addColumn('outcome', 'text')
        .addColumn('handed_off', 'integer', (c) => c.notNull())
        .addColumn('good', 'integer', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_items_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('dataset_items_by_dataset').on('dataset_items').columns(['app_id', 'dataset_id', 'id']).execute();
      await db.schema
        .createTable('dataset_runs')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stopped_reason', 'text')
        .addColumn('spent_usd_nanos', 'bigint', (c) => c.notNull())
        .addColumn('skipped_budget', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_runs_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('dataset_runs_by_dataset').on('dataset_runs').columns(['app_id', 'dataset_id', 'created_at']).execute();
      await db.schema
        .createTable('dataset_results')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('answer', 'text', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('cost_usd_nanos', 'bigint')
        .addColumn('judge_usd_nanos', 'bigint', (c) => c.notNull())
        .addColumn('ttft_ms', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('support', 'real')
        .addColumn('reference_support', 'real')
        .addColumn('cited', 'integer', (c) => c.notNull())
        .addColumn('reference_cited', 'integer', (c) => c.notNull())
        .addColumn('judge_grounded', 'integer')
        .addColumn('preference', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_results_pk', ['app_id', 'id'])
        .execute();
      await db.schema.createIndex('dataset_results_by_run').on('dataset_results').columns(['app_id', 'run_id', 'id']).execute();
      // Fine-tuning jobs created through /v1/fine_tuning/jobs: which app owns which upstream job.
      await db.schema
        .createTable('fine_tuning_jobs')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('fine_tuning_jobs_pk', ['app_id', 'id'])
        .execute();
    },
  },
  '0025_kb_web': {
    async up(db: Kysely<any>) {
      // Websites a knowledge base reads (one page, a sitemap or a crawl), resynced on a schedule; a node leases a run so it happens once.
      await db.schema
        .createTable('kb_web_sources')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kb_id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('last_run', 'text')
        .addColumn('next_run_at', 'bigint')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_web_sources_pk', ['app_id', 'id'])
        .addForeignKeyConstraint('kb_web_sources_kb_fk', ['app_id', 'kb_id'], 'knowledge_bases', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('kb_web_sources_due').on('kb_web_sources').columns(['status', 'next_run_at']).execute();
      // Each page a source read: its validators and content hash, so a resync fetches conditionally and re-indexes only what changed.
      await db.schema
        .createTable('kb_web_pages')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addColumn('last_modified', 'text')
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('links', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_web_pages_pk', ['app_id', 'source_id', 'url'])
        .addForeignKeyConstraint('kb_web_pages_source_fk', ['app_id', 'source_id'], 'kb_web_sources', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
    },
  },
  '0026_member_pin_mute': {
    async up(db: Kysely<any>) {
      // A member's own pin (mute was there from the start): when they pinned the conversation, null when not pinned.
      await db.schema.alterTable('members').addColumn('pinned_at', 'bigint').execute();
      // The reactions room: the last time each message's reactions changed. A removal deletes its reaction row, so
      // without this a reconnecting client could not learn that a reaction went away while it was offline.
      await db.schema
        .createTable('reaction_changes')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('reaction_changes_pk', ['app_id', 'message_id'])
        .execute();
      await db.schema.createIndex('reaction_changes_since').on('reaction_changes').columns(['app_id', 'conversation_id', 'changed_at']).execute();
    },
  },
  '0019_support_abandon': {
    async up(db: Kysely<any>) {
      // When the customer last wrote and was last answered: the abandon sweeper closes conversations whose customer went silent.
      await db.schema.alterTable('support_conversations').addColumn('last_customer_at', 'bigint').execute();
      await db.schema.alterTable('support_conversations').addColumn('last_response_at', 'bigint').execute();
      await db.updateTable('support_conversations').set({ last_customer_at: sql.ref('first_customer_at'), last_response_at: sql.ref('first_response_at') }).execute();
      await db.schema.createIndex('support_by_quiet').on('support_conversations').columns(['status', 'last_customer_at']).execute();
    },
  },
  '0027_message_terms_lean': {
    async up(db: Kysely<any>) {
      // The blind index (src/search) in fewer B-trees: every term row of every message went into four on SQLite (the
      // rowid table, its primary key, by message, by conversation), three on PostgreSQL, ~10–25 µs a row under load
      // (bench:agent-stream, issue 14). Now the primary key holds the rows (SQLite: WITHOUT ROWID) and one index by
      // (conversation, message) serves both removals: a message's rows (its conversation is known) and a conversation's.
      const lean = 'message_terms_by_conversation_message';
      if (db.getExecutor().adapter instanceof SqliteAdapter) {
        await db.schema
          .createTable('message_terms_0027')
          .addColumn('app_id', 'text', (c) => c.notNull())
          .addColumn('term', 'text', (c) => c.notNull())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('message_terms_pk', ['app_id', 'term', 'message_id'])
          .modifyEnd(sql`without rowid`)
          .execute();
        await sql`insert into message_terms_0027 (app_id, term, message_id, conversation_id)
          select app_id, term, message_id, conversation_id from message_terms order by app_id, term, message_id`.execute(db);
        await db.schema.dropTable('message_terms').execute();
        await db.schema.alterTable('message_terms_0027').renameTo('message_terms').execute();
      } else {
        await db.schema.dropIndex('message_terms_by_message').execute();
        await db.schema.dropIndex('message_terms_by_conversation').execute();
      }
      await db.schema.createIndex(lean).on('message_terms').columns(['app_id', 'conversation_id', 'message_id']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies every pending migration; throws with the failing migration's name. */
export async function runMigrations(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'warbler_migrations',
    migrationLockTableName: 'warbler_migrations_lock',
    // Rooms add migrations in parallel branches, so names do not always sort in the order they land; each
    // migration only touches its own tables, so one applied after a later-named one is safe.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
