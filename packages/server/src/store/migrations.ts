import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies every pending migration; throws with the failing migration's name. */
export async function runMigrations(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'warbler_migrations',
    migrationLockTableName: 'warbler_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
