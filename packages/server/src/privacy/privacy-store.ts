// The privacy room's reach into other rooms' rows. Erasure and retention must
// find everything that names a user or belongs to an old conversation, in
// tables other rooms own; this file is the one place that does so, by ids and
// ownership columns only. Message content is read and replaced through the
// chat room's service (so encryption at rest, where it applies, stays in its
// room). Retention policies are this room's own table.
import type { ConversationKind } from '@warbler/protocol';
import type { Kysely } from 'kysely';
import { openColumns, PLAINTEXT, type RowSealer } from '../store/index.ts';
import { NOTE_SEALED, SUPPORT_ROW_SEALED } from '../support/index.ts';

export interface PolicyRow {
  app_id: string;
  kind: string;
  days: number;
  updated_at: number;
}

export interface ExpiredConversation {
  id: string;
  kind: ConversationKind;
  title: string | null;
  last_activity_at: number;
}

export interface StoredFileRef {
  id: string;
  conversation_id: string;
  name: string;
  mime: string;
  size: number;
  path: string;
  created_at: number;
}

const ID_PAGE = 500;

export class PrivacyStore {
  private readonly db: Kysely<any>;

  /** Opens the sealed rows an export reads from other rooms (support rows and notes); plaintext when encryption is off. */
  constructor(db: Kysely<any>, private readonly sealer: RowSealer = PLAINTEXT) {
    this.db = db;
  }

  // ---- a user's data ----

  /** Ids of the messages this user sent, oldest first, a page at a time. */
  async messageIdsBySender(appId: string, userId: string, afterId?: string): Promise<string[]> {
    let q = this.db.selectFrom('messages').select('id').where('app_id', '=', appId).where('sender_id', '=', userId);
    if (afterId) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(ID_PAGE).execute();
    return rows.map((r: { id: string }) => r.id);
  }

  async filesByUploader(appId: string, userId: string): Promise<StoredFileRef[]> {
    const rows = await this.db.selectFrom('files').select(['id', 'conversation_id', 'name', 'mime', 'size', 'path', 'created_at'])
      .where('app_id', '=', appId).where('uploader_id', '=', userId).orderBy('created_at').execute();
    return rows.map((r: StoredFileRef) => ({ ...r, size: Number(r.size), created_at: Number(r.created_at) }));
  }

  /**
   * The support room's rows about the user: conversations they were the
   * customer (or assignee) of, with their state, outcome and rating; support
   * events they acted in; internal notes they wrote; whether they hold the support role.
   */
  async supportRowsOfUser(appId: string, userId: string): Promise<{ conversations: Record<string, unknown>[]; events: Record<string, unknown>[]; notes: Record<string, unknown>[]; staff: boolean }> {
    const conversationRows = await this.db.selectFrom('support_conversations').selectAll().where('app_id', '=', appId)
      .where((eb) => eb.or([eb('customer_id', '=', userId), eb('assignee_id', '=', userId)])).orderBy('created_at').execute();
    const conversations = await openColumns(this.sealer, conversationRows as Array<Record<string, unknown> & { app_id: string; conversation_id: string }>, SUPPORT_ROW_SEALED, (r: { conversation_id: string }) => r.conversation_id);
    const events = await this.db.selectFrom('support_events').select(['id', 'conversation_id', 'type', 'reason', 'created_at'])
      .where('app_id', '=', appId).where('actor_id', '=', userId).orderBy('created_at').execute();
    const noteRows = await this.db.selectFrom('support_notes').select(['app_id', 'id', 'conversation_id', 'text', 'created_at'])
      .where('app_id', '=', appId).where('author_id', '=', userId).orderBy('created_at').execute();
    const notes = (await openColumns(this.sealer, noteRows, NOTE_SEALED, (r: { id: string }) => r.id)).map(({ app_id: _app, ...note }) => note);
    const staff = await this.db.selectFrom('support_staff').select('user_id').where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
    return { conversations, events, notes, staff: staff !== undefined };
  }

  async ledgerRowsOfUser(appId: string, userId: string): Promise<Record<string, unknown>[]> {
    const rows = await this.db.selectFrom('ledger').selectAll().where('app_id', '=', appId).where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map((r: Record<string, unknown>) => ({ ...r, cost_nanos: String(r.cost_nanos) }));
  }

  /**
   * Everything that names the user, in one transaction: messages re-attributed
   * to a pseudonym (their content is replaced before this, through the chat
   * room), files' rows and memberships removed, ledger rows and conversations
   * they created re-attributed, direct keys rewritten, agent memories of their
   * conversations dropped (summaries quote them), and the user row deleted.
   */
  async eraseUserRows(appId: string, userId: string, pseudonym: string, conversationIds: readonly string[]): Promise<{ files: number; memberships: number; ledger: number; memories: number; support: number; notes: number }> {
    return this.db.transaction().execute(async (tx) => {
      const support = await this.eraseSupportRows(tx, appId, userId, pseudonym);
      await tx.updateTable('messages').set({ sender_id: pseudonym, client_msg_id: null }).where('app_id', '=', appId).where('sender_id', '=', userId).execute();
      const files = await tx.deleteFrom('files').where('app_id', '=', appId).where('uploader_id', '=', userId).executeTakeFirst();
      // Their reactions go (a reaction is only who reacted); their messages' index terms went when the content was replaced.
      const reacted = await tx.selectFrom('message_reactions').select(['message_id', 'conversation_id']).distinct()
        .where('app_id', '=', appId).where('user_id', '=', userId).execute() as Array<{ message_id: string; conversation_id: string }>;
      await tx.deleteFrom('message_reactions').where('app_id', '=', appId).where('user_id', '=', userId).execute();
      // Marked changed, as the reactions room does for any removal, so a client away meanwhile drops them at its next sync.
      const at = Date.now();
      for (let i = 0; i < reacted.length; i += 500) {
        await tx.insertInto('reaction_changes').values(reacted.slice(i, i + 500).map((r) => ({ app_id: appId, message_id: r.message_id, conversation_id: r.conversation_id, changed_at: at })))
          .onConflict((oc) => oc.columns(['app_id', 'message_id']).doUpdateSet({ changed_at: at })).execute();
      }
      const ledger = await tx.updateTable('ledger').set({ user_id: pseudonym }).where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
      await tx.updateTable('conversations').set({ created_by: pseudonym }).where('app_id', '=', appId).where('created_by', '=', userId).execute();
      // No conversations, no query: a placeholder id would have to be one no row has, and PostgreSQL refuses NUL in text.
      const direct = conversationIds.length === 0 ? [] : await tx.selectFrom('conversations').select(['id', 'direct_key']).where('app_id', '=', appId).where('kind', '=', 'direct')
        .where('id', 'in', [...conversationIds]).execute();
      for (const c of direct as Array<{ id: string; direct_key: string | null }>) {
        if (!c.direct_key) continue;
        const key = c.direct_key.split(':').map((id) => (id === userId ? pseudonym : id)).sort().join(':');
        await tx.updateTable('conversations').set({ direct_key: key }).where('app_id', '=', appId).where('id', '=', c.id).execute();
      }
      const memories = conversationIds.length
        ? await tx.deleteFrom('agent_memory').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).executeTakeFirst()
        : { numDeletedRows: 0n };
      const members = await tx.deleteFrom('members').where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
      await tx.deleteFrom('users').where('app_id', '=', appId).where('id', '=', userId).execute();
      return {
        files: Number(files.numDeletedRows), memberships: Number(members.numDeletedRows),
        ledger: Number(ledger.numUpdatedRows), memories: Number(memories.numDeletedRows), ...support,
      };
    });
  }

  /**
   * Support rows (erasure's transaction): the user's conversations as a
   * customer keep their state, outcome and rating for the report, under the
   * pseudonym, without the rating's comment or the words quoted as a handoff
   * detail; notes about them as a customer, and notes they wrote, go (a note
   * is free text about a person); as staff, assignments and the actions they
   * took are re-attributed, and their support role goes.
   */
  private async eraseSupportRows(tx: Kysely<any>, appId: string, userId: string, pseudonym: string): Promise<{ support: number; notes: number }> {
    const theirs = (await tx.selectFrom('support_conversations').select('conversation_id').where('app_id', '=', appId).where('customer_id', '=', userId).execute())
      .map((r: { conversation_id: string }) => r.conversation_id);
    let notes = 0;
    for (let i = 0; i < theirs.length; i += ID_PAGE) {
      const r = await tx.deleteFrom('support_notes').where('app_id', '=', appId).where('conversation_id', 'in', theirs.slice(i, i + ID_PAGE)).executeTakeFirst();
      notes += Number(r.numDeletedRows);
    }
    const written = await tx.deleteFrom('support_notes').where('app_id', '=', appId).where('author_id', '=', userId).executeTakeFirst();
    notes += Number(written.numDeletedRows);
    const asCustomer = await tx.updateTable('support_conversations').set({ customer_id: pseudonym, csat_comment: null, handoff_detail: null })
      .where('app_id', '=', appId).where('customer_id', '=', userId).executeTakeFirst();
    const asAssignee = await tx.updateTable('support_conversations').set({ assignee_id: pseudonym }).where('app_id', '=', appId).where('assignee_id', '=', userId).executeTakeFirst();
    await tx.updateTable('support_events').set({ actor_id: pseudonym }).where('app_id', '=', appId).where('actor_id', '=', userId).execute();
    await tx.updateTable('support_events').set({ reason: null }).where('app_id', '=', appId).where('reason', '=', `from:${userId}`).execute();
    await tx.deleteFrom('support_staff').where('app_id', '=', appId).where('user_id', '=', userId).execute();
    return { support: Number(asCustomer.numUpdatedRows) + Number(asAssignee.numUpdatedRows), notes };
  }

  // ---- retention ----

  async policies(appId: string): Promise<PolicyRow[]> {
    const rows = (await this.db.selectFrom('retention_policies').selectAll().where('app_id', '=', appId).orderBy('kind').execute()) as PolicyRow[];
    return rows.map((r) => ({ ...r, days: Number(r.days), updated_at: Number(r.updated_at) }));
  }

  async appsWithPolicies(): Promise<string[]> {
    const rows = await this.db.selectFrom('retention_policies').select('app_id').distinct().orderBy('app_id').execute();
    return rows.map((r: { app_id: string }) => r.app_id);
  }

  async setPolicies(appId: string, policies: ReadonlyArray<{ kind: string; days: number }>, now: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('retention_policies').where('app_id', '=', appId).execute();
      if (policies.length) await tx.insertInto('retention_policies').values(policies.map((p) => ({ app_id: appId, kind: p.kind, days: p.days, updated_at: now }))).execute();
    });
  }

  /** Conversations of these kinds whose last activity is before the cutoff, oldest first. */
  async expiredConversations(appId: string, kinds: readonly string[], cutoff: number, limit: number): Promise<ExpiredConversation[]> {
    if (kinds.length === 0) return [];
    const q = this.db.selectFrom('conversations').select(['id', 'kind', 'title', 'last_message_at', 'created_at'])
      .where('app_id', '=', appId).where('kind', 'in', [...kinds])
      .where((eb) => eb.or([eb('last_message_at', '<', cutoff), eb.and([eb('last_message_at', 'is', null), eb('created_at', '<', cutoff)])]));
    const rows = await q.orderBy('last_message_at').orderBy('id').limit(limit).execute();
    return rows.map((r: { id: string; kind: ConversationKind; title: string | null; last_message_at: number | null; created_at: number }) => ({
      id: r.id, kind: r.kind, title: r.title, last_activity_at: Number(r.last_message_at ?? r.created_at),
    }));
  }

  async countContents(appId: string, conversationIds: readonly string[]): Promise<{ messages: number; files: number }> {
    if (conversationIds.length === 0) return { messages: 0, files: 0 };
    const m = await this.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).executeTakeFirst();
    const f = await this.db.selectFrom('files').select((eb) => eb.fn.countAll().as('n')).where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).executeTakeFirst();
    return { messages: Number(m?.n ?? 0), files: Number(f?.n ?? 0) };
  }

  async filePathsOf(appId: string, conversationIds: readonly string[]): Promise<string[]> {
    if (conversationIds.length === 0) return [];
    const rows = await this.db.selectFrom('files').select('path').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
    return rows.map((r: { path: string }) => r.path);
  }

  /** Removes conversations whole (messages, members and file rows go with them by foreign key), and their agents' memories. */
  async deleteConversations(appId: string, conversationIds: readonly string[]): Promise<number> {
    if (conversationIds.length === 0) return 0;
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('agent_memory').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      // Explicitly, not only by cascade: SQLite enforces foreign keys only when the connection turned them on.
      await tx.deleteFrom('files').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      await tx.deleteFrom('message_terms').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      await tx.deleteFrom('message_reactions').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      await tx.deleteFrom('reaction_changes').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      await tx.deleteFrom('messages').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      await tx.deleteFrom('members').where('app_id', '=', appId).where('conversation_id', 'in', [...conversationIds]).execute();
      const r = await tx.deleteFrom('conversations').where('app_id', '=', appId).where('id', 'in', [...conversationIds]).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
