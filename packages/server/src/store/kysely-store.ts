import { sql, type Kysely, type Selectable } from 'kysely';
import { readStoredContent, UNREADABLE_CONTENT } from './stored-content.ts';
import { PLAINTEXT, type RowSealer } from './sealing.ts';
import type { Conversation, Member, Message, StoredFile } from '@warbler/protocol';
import { runMigrations } from './migrations.ts';
import { KyselyAiStore } from './kysely-ai-store.ts';
import type { AiStore } from './port-ai.ts';
import { KyselyGatewayStore } from './kysely-gateway-store.ts';
import type { GatewayStore } from './port-gateway.ts';
import {
  resendKey,
  StoreConflict,
  StoreNotFound,
  type AppRow,
  type ConversationForUser,
  type MessagePatch,
  type NewConversation,
  type NewMember,
  type NewMessage,
  type NewUser,
  type Store,
  type UserPatch,
  type UserRow,
} from './port.ts';
import type { ConversationsTable, Database, MembersTable, MessagesTable, UsersTable } from './schema.ts';
import { guardWrite } from './guard-write.ts';
import { isDatabaseUnreachable } from './unavailable.ts';

// Defined beside StoreConflict in the port; re-exported for code that imported it from here.
export { StoreNotFound };

/** The few things SQLite and Postgres disagree on; everything else is shared SQL. */
export interface DialectTraits {
  readonly name: 'sqlite' | 'postgres';
  isUniqueViolation(error: unknown): boolean;
  isForeignKeyViolation(error: unknown): boolean;
  /** better-sqlite3 cannot bind booleans. */
  bool(value: boolean): boolean | number;
  /** Two-argument max/min: SQLite spells them max()/min(), Postgres greatest()/least(). */
  readonly greatest: 'max' | 'greatest';
  readonly least: 'min' | 'least';
  /** Where migrations run when not on the store's own connection (Postgres: one without the query timeout). Destroyed after. */
  readonly migrationDb?: () => Kysely<Database>;
}

/**
 * How a dialect writes the appends AppendBatcher gathers (group commit: one
 * commit, and one WAL flush, for every append that arrived while the last
 * batch was being written). Each store has exactly one of the two.
 */
export type AppendWriter = SyncAppendWriter | StatementAppendWriter;

export interface SyncAppendWriter {
  /**
   * SQLite: the whole batch synchronously in one transaction, each append in
   * its own savepoint, returning each one's seq or error. The driver is
   * synchronous anyway, and skipping Kysely's per-statement promise machinery
   * is most of the send path's CPU.
   */
  readonly appendBatchSync: (batch: readonly StoredAppend[]) => Array<{ ok: true; seq: number } | { ok: false; error: unknown }>;
  readonly appendBatchStatement?: undefined;
}

export interface StatementAppendWriter {
  readonly appendBatchSync?: undefined;
  /**
   * Postgres: the whole batch in one statement, returning each one's seq, or
   * undefined for one not stored (no such conversation, or a resend of a
   * stored message). Throws, having written nothing, on anything else; the
   * batch is then written one by one with appendStatement.
   */
  readonly appendBatchStatement: (batch: readonly StoredAppend[]) => Promise<Array<number | undefined>>;
  /**
   * One append as a single statement, returning its seq (undefined when the
   * conversation does not exist): data-modifying CTEs, one round trip, the
   * conversation's row lock held for that one statement.
   */
  readonly appendStatement: (db: Kysely<Database>, message: StoredAppend) => Promise<number | undefined>;
}

/** A message on its way to the writers, its content already serialized (and sealed, with encryption at rest on). */
export type StoredAppend = NewMessage & { readonly stored_content: string };

type AppendResult = { message: Message; duplicate: boolean };


// Keeps IN lists well under SQLite's and Postgres's bound-parameter limits.
const IN_CHUNK = 500;

const memberColumns = ['conversation_id', 'user_id', 'role', 'read_seq', 'delivered_seq', 'muted', 'joined_at'] as const;

export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  private readonly batcher = new AppendBatcher((batch) => this.appendBatch(batch));
  private readonly ai: KyselyAiStore;
  private readonly gateway: KyselyGatewayStore;
  /** Seals message content (and, through the AI part, knowledge text) on the way in and opens it on the way out. */
  private sealer: RowSealer = PLAINTEXT;
  /** Appends waiting for their app's key before they join the batch. */
  private readonly admitting = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly traits: DialectTraits & AppendWriter,
  ) {
    this.dialect = traits.name;
    this.ai = new KyselyAiStore(db, traits);
    this.gateway = new KyselyGatewayStore(db, traits);
  }

  async migrate(): Promise<void> {
    const db = this.traits.migrationDb?.();
    if (!db) return runMigrations(this.db);
    try {
      await runMigrations(db);
    } finally {
      await db.destroy();
    }
  }

  roomTables(): Kysely<any> {
    return this.db;
  }

  useSealer(sealer: RowSealer): void {
    this.sealer = sealer;
    this.ai.useSealer(sealer);
    this.gateway.useSealer(sealer);
  }

  async close(): Promise<void> {
    // Appends already accepted are written before the connection goes.
    await Promise.allSettled([...this.admitting]);
    await this.batcher.idle();
    await this.db.destroy();
  }

  // ---- apps ----

  async createApp(app: AppRow): Promise<void> {
    const { id, name, secret_hash, created_at, updated_at } = app;
    await guardWrite(this.traits, { conflict: `App ${id} already exists` }, () =>
      this.db.insertInto('apps').values({ id, name, secret_hash, created_at, updated_at }).execute(),
    );
  }

  async getApp(appId: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
  }

  async listApps(): Promise<AppRow[]> {
    return this.db.selectFrom('apps').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async setAppSecret(appId: string, secretHash: string, now: number): Promise<void> {
    await this.db.updateTable('apps').set({ secret_hash: secretHash, updated_at: now }).where('id', '=', appId).execute();
  }

  // ---- users ----

  async createUser(user: NewUser): Promise<UserRow> {
    const row: Selectable<UsersTable> = {
      app_id: user.app_id,
      id: user.id,
      kind: user.kind,
      name: user.name,
      avatar_url: user.avatar_url,
      metadata: JSON.stringify(user.metadata),
      token_version: 0,
      created_at: user.created_at,
      updated_at: user.created_at,
    };
    await guardWrite(this.traits, { conflict: `User ${user.id} already exists`, missing: `App ${user.app_id} does not exist` }, () =>
      this.db.insertInto('users').values(row).execute(),
    );
    return toUser(row);
  }

  async getUser(appId: string, userId: string): Promise<UserRow | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('app_id', '=', appId).where('id', '=', userId).executeTakeFirst();
    return row && toUser(row);
  }

  async getUsers(appId: string, userIds: readonly string[]): Promise<UserRow[]> {
    const out: UserRow[] = [];
    for (const ids of chunks([...new Set(userIds)], IN_CHUNK)) {
      const rows = await this.db.selectFrom('users').selectAll().where('app_id', '=', appId).where('id', 'in', ids).execute();
      for (const row of rows) out.push(toUser(row));
    }
    return out;
  }

  async listUsers(appId: string, page: { limit: number; after?: string; kind?: UserRow['kind'] }): Promise<UserRow[]> {
    let query = this.db.selectFrom('users').selectAll().where('app_id', '=', appId);
    if (page.kind) query = query.where('kind', '=', page.kind);
    if (page.after !== undefined) {
      const cursor = await this.db
        .selectFrom('users')
        .select('created_at')
        .where('app_id', '=', appId)
        .where('id', '=', page.after)
        .executeTakeFirst();
      if (!cursor) return [];
      const after = page.after;
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(cursor.created_at, after)));
    }
    const rows = await query.orderBy('created_at').orderBy('id').limit(page.limit).execute();
    return rows.map(toUser);
  }

  async updateUser(appId: string, userId: string, patch: UserPatch): Promise<UserRow | undefined> {
    const row = await this.db
      .updateTable('users')
      .set({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.avatar_url !== undefined && { avatar_url: patch.avatar_url }),
        ...(patch.metadata !== undefined && { metadata: JSON.stringify(patch.metadata) }),
        updated_at: patch.updated_at,
      })
      .where('app_id', '=', appId)
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    return row && toUser(row);
  }

  async bumpTokenVersion(appId: string, userId: string): Promise<number | undefined> {
    const row = await this.db
      .updateTable('users')
      .set((eb) => ({ token_version: eb('token_version', '+', 1) }))
      .where('app_id', '=', appId)
      .where('id', '=', userId)
      .returning('token_version')
      .executeTakeFirst();
    return row?.token_version;
  }

  // ---- conversations and members ----

  async createConversation(conversation: NewConversation, members: NewMember[]): Promise<Conversation> {
    if (conversation.kind === 'direct' && !conversation.direct_key) {
      throw new Error('A direct conversation needs a direct_key');
    }
    const row: Selectable<ConversationsTable> = {
      app_id: conversation.app_id,
      id: conversation.id,
      kind: conversation.kind,
      title: conversation.title,
      direct_key: conversation.direct_key,
      created_by: conversation.created_by,
      created_at: conversation.created_at,
      last_seq: 0,
      last_message_at: null,
      updated_at: conversation.created_at,
    };
    const conflict = conversation.direct_key
      ? `A direct conversation for ${conversation.direct_key} already exists`
      : `Conversation ${conversation.id} already exists`;
    const missing = `App ${conversation.app_id} or one of the member users does not exist`;
    await guardWrite(this.traits, { conflict, missing }, () =>
      this.db.transaction().execute(async (trx) => {
        await trx.insertInto('conversations').values(row).execute();
        if (members.length > 0) {
          await trx.insertInto('members').values(members.map((m) => this.memberRow(conversation, m))).execute();
        }
      }),
    );
    return toConversation(row);
  }

  async getConversation(appId: string, conversationId: string): Promise<Conversation | undefined> {
    const row = await this.db
      .selectFrom('conversations')
      .selectAll()
      .where('app_id', '=', appId)
      .where('id', '=', conversationId)
      .executeTakeFirst();
    return row && toConversation(row);
  }

  async findDirectConversation(appId: string, directKey: string): Promise<Conversation | undefined> {
    const row = await this.db
      .selectFrom('conversations')
      .selectAll()
      .where('app_id', '=', appId)
      .where('direct_key', '=', directKey)
      .executeTakeFirst();
    return row && toConversation(row);
  }

  async updateConversation(
    appId: string,
    conversationId: string,
    patch: { title?: string | null; updated_at: number },
  ): Promise<Conversation | undefined> {
    const row = await this.db
      .updateTable('conversations')
      .set({ ...(patch.title !== undefined && { title: patch.title }), updated_at: patch.updated_at })
      .where('app_id', '=', appId)
      .where('id', '=', conversationId)
      .returningAll()
      .executeTakeFirst();
    return row && toConversation(row);
  }

  async listConversationsForUser(appId: string, userId: string, page: { limit: number; before?: number; beforeId?: string }): Promise<ConversationForUser[]> {
    const activity = sql<number>`coalesce(c.last_message_at, c.created_at)`;
    let query = this.db
      .selectFrom('members as mb')
      .innerJoin('conversations as c', (j) => j.onRef('c.app_id', '=', 'mb.app_id').onRef('c.id', '=', 'mb.conversation_id'))
      // The newest message is the one at last_seq: one indexed lookup per row, no subquery per conversation.
      .leftJoin('messages as msg', (j) =>
        j.onRef('msg.app_id', '=', 'c.app_id').onRef('msg.conversation_id', '=', 'c.id').onRef('msg.seq', '=', 'c.last_seq'),
      )
      .select([
        'c.app_id',
        'c.id',
        'c.kind',
        'c.title',
        'c.direct_key',
        'c.last_seq',
        'c.last_message_at',
        'c.created_by',
        'c.created_at',
        'c.updated_at',
        'mb.role as mb_role',
        'mb.read_seq as mb_read_seq',
        'mb.delivered_seq as mb_delivered_seq',
        'mb.muted as mb_muted',
        'mb.joined_at as mb_joined_at',
        'msg.id as msg_id',
        'msg.seq as msg_seq',
        'msg.sender_id as msg_sender_id',
        'msg.client_msg_id as msg_client_msg_id',
        'msg.type as msg_type',
        'msg.content as msg_content',
        'msg.state as msg_state',
        'msg.created_at as msg_created_at',
        'msg.updated_at as msg_updated_at',
        'msg.edited_at as msg_edited_at',
      ])
      .where('mb.app_id', '=', appId)
      .where('mb.user_id', '=', userId);
    const { before, beforeId } = page;
    if (before !== undefined && beforeId !== undefined) {
      query = query.where((eb) => eb.or([eb(activity, '<', before), eb.and([eb(activity, '=', before), eb('c.id', '<', beforeId)])]));
    } else if (before !== undefined) query = query.where(activity, '<', before);
    const rows = await query.orderBy(activity, 'desc').orderBy('c.id', 'desc').limit(page.limit).execute();
    await this.sealer.ready(appId, { stored: rows.flatMap((r) => (r.msg_content === null ? [] : [r.msg_content])) });

    return rows.map((r) => {
      const conversation = toConversation(r);
      const member: Member = {
        conversation_id: r.id,
        user_id: userId,
        role: r.mb_role,
        read_seq: r.mb_read_seq,
        delivered_seq: r.mb_delivered_seq,
        muted: Boolean(r.mb_muted),
        joined_at: r.mb_joined_at,
      };
      const last_message =
        r.msg_id === null
          ? null
          : toMessage({
              app_id: r.app_id,
              id: r.msg_id,
              conversation_id: r.id,
              seq: r.msg_seq!,
              sender_id: r.msg_sender_id!,
              client_msg_id: r.msg_client_msg_id,
              type: r.msg_type!,
              content: r.msg_content!,
              state: r.msg_state!,
              created_at: r.msg_created_at!,
              updated_at: r.msg_updated_at!,
              edited_at: r.msg_edited_at,
            }, this.sealer);
      return { conversation, member, last_message };
    });
  }

  async listConversationIdsForUser(appId: string, userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('members')
      .select('conversation_id')
      .where('app_id', '=', appId)
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  async getMember(appId: string, conversationId: string, userId: string): Promise<Member | undefined> {
    const row = await this.db
      .selectFrom('members')
      .select(memberColumns)
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && toMember(row);
  }

  async listMembers(appId: string, conversationId: string): Promise<Member[]> {
    const rows = await this.db
      .selectFrom('members')
      .select(memberColumns)
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .orderBy('joined_at')
      .orderBy('user_id')
      .execute();
    return rows.map(toMember);
  }

  async addMembers(appId: string, conversationId: string, members: NewMember[]): Promise<Member[]> {
    if (members.length === 0) return [];
    const conversation = { app_id: appId, id: conversationId };
    const missing = `Conversation ${conversationId} or one of the users does not exist`;
    const rows = await guardWrite(this.traits, { conflict: missing, missing }, () =>
      this.db
        .insertInto('members')
        .values(members.map((m) => this.memberRow(conversation, m)))
        .onConflict((oc) => oc.columns(['app_id', 'conversation_id', 'user_id']).doNothing())
        .returning(memberColumns)
        .execute(),
    );
    return rows.map(toMember);
  }

  async removeMember(appId: string, conversationId: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('members')
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async updateMember(
    appId: string,
    conversationId: string,
    userId: string,
    patch: { role?: Member['role']; muted?: boolean },
  ): Promise<Member | undefined> {
    if (patch.role === undefined && patch.muted === undefined) return this.getMember(appId, conversationId, userId);
    const row = await this.db
      .updateTable('members')
      .set({
        ...(patch.role !== undefined && { role: patch.role }),
        ...(patch.muted !== undefined && { muted: this.traits.bool(patch.muted) }),
      })
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .returning(memberColumns)
      .executeTakeFirst();
    return row && toMember(row);
  }

  async markRead(appId: string, conversationId: string, userId: string, seq: number): Promise<Member | undefined> {
    const target = this.clampToLastSeq(appId, conversationId, seq);
    return this.moveCursors(appId, conversationId, userId, {
      read_seq: this.greatest(sql.ref('read_seq'), target),
      delivered_seq: this.greatest(sql.ref('delivered_seq'), target),
    });
  }

  async markDelivered(appId: string, conversationId: string, userId: string, seq: number): Promise<Member | undefined> {
    const target = this.clampToLastSeq(appId, conversationId, seq);
    return this.moveCursors(appId, conversationId, userId, {
      delivered_seq: this.greatest(sql.ref('delivered_seq'), target),
    });
  }

  // ---- messages ----

  appendMessage(message: NewMessage): Promise<AppendResult> {
    const enqueue = (): Promise<AppendResult> => {
      try {
        const stored_content = this.sealer.seal(message.app_id, 'messages.content', message.id, JSON.stringify(message.content));
        return this.batcher.append({ ...message, stored_content });
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const ready = this.sealer.ready(message.app_id, { seal: true });
    if (!ready) return enqueue();
    // The app's key is still loading: close() waits for this append too, as for any accepted one.
    const admitted = ready.then(enqueue);
    this.admitting.add(admitted);
    void admitted.catch(() => {}).finally(() => this.admitting.delete(admitted));
    return admitted;
  }

  async getMessage(appId: string, messageId: string): Promise<Message | undefined> {
    const row = await this.db.selectFrom('messages').selectAll().where('app_id', '=', appId).where('id', '=', messageId).executeTakeFirst();
    return row && (await this.toMessages([row]))[0];
  }

  async listMessages(
    appId: string,
    conversationId: string,
    page: { before?: number; after?: number; limit: number },
  ): Promise<{ messages: Message[]; has_more: boolean }> {
    let query = this.db.selectFrom('messages').selectAll().where('app_id', '=', appId).where('conversation_id', '=', conversationId);
    if (page.after !== undefined) query = query.where('seq', '>', page.after);
    if (page.before !== undefined) query = query.where('seq', '<', page.before);
    // With `after` the page grows forward from it; otherwise it is the newest end of the range.
    const ascending = page.after !== undefined;
    const limit = Math.max(0, page.limit);
    const rows = await query.orderBy('seq', ascending ? 'asc' : 'desc').limit(limit + 1).execute();
    const has_more = rows.length > limit;
    const pageRows = rows.slice(0, limit);
    if (!ascending) pageRows.reverse();
    return { messages: await this.toMessages(pageRows), has_more };
  }

  async updateMessage(appId: string, messageId: string, patch: MessagePatch): Promise<Message | undefined> {
    if (patch.content !== undefined) await this.sealer.ready(appId, { seal: true });
    const json = patch.content === undefined ? undefined : JSON.stringify(patch.content);
    const row = await this.db
      .updateTable('messages')
      .set({
        ...(json !== undefined && { content: this.sealer.seal(appId, 'messages.content', messageId, json) }),
        ...(patch.state !== undefined && { state: patch.state }),
        ...(patch.edited_at !== undefined && { edited_at: patch.edited_at }),
        updated_at: patch.updated_at,
      })
      .where('app_id', '=', appId)
      .where('id', '=', messageId)
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    // The content was just written from `json`: read it back from there rather than open the seal just made
    // (an AES-GCM open for each save of a streaming reply, its finish and every edit).
    return json === undefined ? (await this.toMessages([row]))[0] : toMessage(row, this.sealer, readStoredContent(json));
  }

  async listMessagesUpdatedSince(appId: string, conversationIds: readonly string[], since: number, limit: number): Promise<Message[]> {
    const found: Selectable<MessagesTable>[] = [];
    for (const ids of chunks([...new Set(conversationIds)], IN_CHUNK)) {
      const rows = await this.db
        .selectFrom('messages')
        .selectAll()
        .where('app_id', '=', appId)
        .where('conversation_id', 'in', ids)
        .where('updated_at', '>', since)
        .where('created_at', '<=', since)
        // Implied by the two bounds, but spelled out so both planners can use the partial index.
        .whereRef('updated_at', '>', 'created_at')
        .orderBy('updated_at')
        .orderBy('conversation_id')
        .orderBy('seq')
        .limit(limit)
        .execute();
      found.push(...rows);
    }
    // Each chunk is sorted and limited on its own; merge them into one global order.
    found.sort(
      (a, b) => a.updated_at - b.updated_at || compare(a.conversation_id, b.conversation_id) || a.seq - b.seq,
    );
    return this.toMessages(found.slice(0, limit));
  }

  async listStreamingMessages(limit: number): Promise<Message[]> {
    // Across apps on purpose: run once at start to close replies a crash left open.
    const rows = await this.db.selectFrom('messages').selectAll().where('state', '=', 'streaming').orderBy('created_at').limit(limit).execute();
    return this.toMessages(rows);
  }

  // ---- files ----

  async createFile(file: StoredFile & { path: string }): Promise<void> {
    const { app_id, id, conversation_id, uploader_id, name, mime, size, path, created_at } = file;
    await guardWrite(this.traits, { conflict: `File ${id} already exists`, missing: `Conversation ${conversation_id} does not exist` }, () =>
      this.db.insertInto('files').values({ app_id, id, conversation_id, uploader_id, name, mime, size, path, created_at }).execute(),
    );
  }

  async getFile(appId: string, fileId: string): Promise<(StoredFile & { path: string }) | undefined> {
    return this.db.selectFrom('files').selectAll().where('app_id', '=', appId).where('id', '=', fileId).executeTakeFirst();
  }

  // ---- the AI half: agents, knowledge bases, ledger (kysely-ai-store.ts) ----

  putAgent: AiStore['putAgent'] = (agent) => this.ai.putAgent(agent);
  getAgent: AiStore['getAgent'] = (appId, agentId) => this.ai.getAgent(appId, agentId);
  listAgents: AiStore['listAgents'] = (appId) => this.ai.listAgents(appId);
  listAllAgents: AiStore['listAllAgents'] = () => this.ai.listAllAgents();
  deleteAgent: AiStore['deleteAgent'] = (appId, agentId) => this.ai.deleteAgent(appId, agentId);
  getAgentMemory: AiStore['getAgentMemory'] = (appId, agentId, conversationId) => this.ai.getAgentMemory(appId, agentId, conversationId);
  putAgentMemory: AiStore['putAgentMemory'] = (memory) => this.ai.putAgentMemory(memory);
  putKnowledgeBase: AiStore['putKnowledgeBase'] = (kb) => this.ai.putKnowledgeBase(kb);
  getKnowledgeBase: AiStore['getKnowledgeBase'] = (appId, kbId) => this.ai.getKnowledgeBase(appId, kbId);
  listKnowledgeBases: AiStore['listKnowledgeBases'] = (appId) => this.ai.listKnowledgeBases(appId);
  deleteKnowledgeBase: AiStore['deleteKnowledgeBase'] = (appId, kbId) => this.ai.deleteKnowledgeBase(appId, kbId);
  putDocument: AiStore['putDocument'] = (doc, chunks) => this.ai.putDocument(doc, chunks);
  listDocuments: AiStore['listDocuments'] = (appId, kbId) => this.ai.listDocuments(appId, kbId);
  getDocument: AiStore['getDocument'] = (appId, documentId) => this.ai.getDocument(appId, documentId);
  deleteDocument: AiStore['deleteDocument'] = (appId, documentId) => this.ai.deleteDocument(appId, documentId);
  listChunks: AiStore['listChunks'] = (appId, documentId) => this.ai.listChunks(appId, documentId);
  scanChunks: AiStore['scanChunks'] = (page) => this.ai.scanChunks(page);
  appendLedger: AiStore['appendLedger'] = (rows) => this.ai.appendLedger(rows);
  listLedger: AiStore['listLedger'] = (appId, filter) => this.ai.listLedger(appId, filter);
  sumLedgerCost: AiStore['sumLedgerCost'] = (appId, filter) => this.ai.sumLedgerCost(appId, filter);
  listInFlightLedger: AiStore['listInFlightLedger'] = (limit) => this.ai.listInFlightLedger(limit);

  // ---- the gateway part: keys, files, batches (kysely-gateway-store.ts) ----

  createApiKey: GatewayStore['createApiKey'] = (key) => this.gateway.createApiKey(key);
  getApiKeyByHash: GatewayStore['getApiKeyByHash'] = (keyHash) => this.gateway.getApiKeyByHash(keyHash);
  getApiKey: GatewayStore['getApiKey'] = (appId, keyId) => this.gateway.getApiKey(appId, keyId);
  listApiKeys: GatewayStore['listApiKeys'] = (appId) => this.gateway.listApiKeys(appId);
  updateApiKey: GatewayStore['updateApiKey'] = (appId, keyId, patch) => this.gateway.updateApiKey(appId, keyId, patch);
  createGatewayFile: GatewayStore['createGatewayFile'] = (file) => this.gateway.createGatewayFile(file);
  getGatewayFile: GatewayStore['getGatewayFile'] = (appId, fileId) => this.gateway.getGatewayFile(appId, fileId);
  listGatewayFiles: GatewayStore['listGatewayFiles'] = (appId, page) => this.gateway.listGatewayFiles(appId, page);
  deleteGatewayFile: GatewayStore['deleteGatewayFile'] = (appId, fileId) => this.gateway.deleteGatewayFile(appId, fileId);
  putResponse: GatewayStore['putResponse'] = (response) => this.gateway.putResponse(response);
  putResponses: GatewayStore['putResponses'] = (responses) => this.gateway.putResponses(responses);
  getResponse: GatewayStore['getResponse'] = (appId, responseId) => this.gateway.getResponse(appId, responseId);
  deleteResponse: GatewayStore['deleteResponse'] = (appId, responseId) => this.gateway.deleteResponse(appId, responseId);
  createBatch: GatewayStore['createBatch'] = (batch) => this.gateway.createBatch(batch);
  getBatch: GatewayStore['getBatch'] = (appId, batchId) => this.gateway.getBatch(appId, batchId);
  listBatches: GatewayStore['listBatches'] = (appId, page) => this.gateway.listBatches(appId, page);
  updateBatch: GatewayStore['updateBatch'] = (appId, batchId, patch, fromStatuses) => this.gateway.updateBatch(appId, batchId, patch, fromStatuses);
  listBatchesByStatus: GatewayStore['listBatchesByStatus'] = (statuses, limit) => this.gateway.listBatchesByStatus(statuses, limit);
  putBatchItems: GatewayStore['putBatchItems'] = (items) => this.gateway.putBatchItems(items);
  takeLease: GatewayStore['takeLease'] = (name, owner, now, ttlMs) => this.gateway.takeLease(name, owner, now, ttlMs);
  dropLease: GatewayStore['dropLease'] = (name, owner) => this.gateway.dropLease(name, owner);
  listLeases: GatewayStore['listLeases'] = (query) => this.gateway.listLeases(query);
  listBatchItems: GatewayStore['listBatchItems'] = (appId, batchId) => this.gateway.listBatchItems(appId, batchId);

  // ---- internals ----

  /** Rows to messages, their content opened: each app's keys are loaded first (the rows of a call are nearly always one app's). */
  private async toMessages(rows: readonly Selectable<MessagesTable>[]): Promise<Message[]> {
    for (const appId of new Set(rows.map((r) => r.app_id))) {
      await this.sealer.ready(appId, { stored: rows.filter((r) => r.app_id === appId).map((r) => r.content) });
    }
    return rows.map((r) => toMessage(r, this.sealer));
  }

  private async appendAlone(message: StoredAppend, write: StatementAppendWriter['appendStatement']): Promise<AppendResult> {
    let seq: number | undefined;
    try {
      seq = await write(this.db, message);
    } catch (error) {
      // The write rolled back, so the seq it took is free again.
      return this.resolveAppendFailure(message, error);
    }
    if (seq === undefined) throw new StoreNotFound(`Conversation ${message.conversation_id} does not exist`);
    return { message: appended(message, seq), duplicate: false };
  }

  /** Outcomes are settled after the commit, so nobody is told "stored" before it is. */
  private async appendBatch(batch: readonly PendingAppend[]): Promise<void> {
    const t = this.traits;
    return t.appendBatchSync ? this.appendBatchFast(batch, t.appendBatchSync) : this.appendBatchInOneStatement(batch, t);
  }

  private async appendBatchFast(batch: readonly PendingAppend[], write: SyncAppendWriter['appendBatchSync']): Promise<void> {
    let results: ReturnType<typeof write>;
    try {
      // Holding Kysely's one connection keeps its other queries out of this transaction.
      results = await this.db.connection().execute(async () => write(batch.map((p) => p.message)));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const pending = batch[i]!;
      const result = results[i]!;
      if (result.ok) {
        pending.resolve({ message: appended(pending.message, result.seq), duplicate: false });
        continue;
      }
      this.resolveAppendFailure(pending.message, result.error).then(pending.resolve, pending.reject);
    }
  }

  private async appendBatchInOneStatement(
    batch: readonly PendingAppend[],
    { appendBatchStatement: write, appendStatement: writeOne }: StatementAppendWriter,
  ): Promise<void> {
    // Two sends with one client_msg_id in a batch would both pass the
    // statement's "already stored?" check; the repeat waits for the next round.
    const seen = new Set<string>();
    const now: PendingAppend[] = [];
    const repeats: PendingAppend[] = [];
    for (const pending of batch) {
      if (pending.message.client_msg_id === null) {
        now.push(pending);
        continue;
      }
      const key = resendKey(pending.message);
      (seen.has(key) ? repeats : now).push(pending);
      seen.add(key);
    }
    let seqs: Array<number | undefined>;
    try {
      seqs = await write(now.map((p) => p.message));
    } catch (error) {
      // The database is out of reach: one attempt per append would only wait out the same timeout again.
      if (isDatabaseUnreachable(error)) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      // Nothing was written. One at a time gives each append its own outcome, in order.
      for (const pending of batch) await this.appendAlone(pending.message, writeOne).then(pending.resolve, pending.reject);
      return;
    }
    for (let i = 0; i < now.length; i++) {
      const pending = now[i]!;
      const seq = seqs[i];
      if (seq !== undefined) pending.resolve({ message: appended(pending.message, seq), duplicate: false });
      else this.resolveNotStored(pending.message).then(pending.resolve, pending.reject);
    }
    for (const pending of repeats) await this.appendAlone(pending.message, writeOne).then(pending.resolve, pending.reject);
  }

  /** An append the batch statement left out: a resend of a stored message, or no such conversation. */
  private async resolveNotStored(message: NewMessage): Promise<AppendResult> {
    const resend = await this.storedResend(message);
    if (resend) return resend;
    throw new StoreNotFound(`Conversation ${message.conversation_id} does not exist`);
  }

  /** A resend (or a concurrent twin) fails on the client_msg_id index: answer with what the first one stored. */
  private async resolveAppendFailure(message: NewMessage, error: unknown): Promise<AppendResult> {
    if (!this.traits.isUniqueViolation(error)) throw error;
    const resend = await this.storedResend(message);
    if (resend) return resend;
    throw new StoreConflict(`Message ${message.id} already exists`);
  }

  /** What the first send with this message's client_msg_id stored, if any. */
  private async storedResend(m: NewMessage): Promise<AppendResult | undefined> {
    if (m.client_msg_id === null) return undefined;
    const row = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('app_id', '=', m.app_id)
      .where('sender_id', '=', m.sender_id)
      .where('client_msg_id', '=', m.client_msg_id)
      .executeTakeFirst();
    return row && { message: (await this.toMessages([row]))[0]!, duplicate: true };
  }

  private async moveCursors(
    appId: string,
    conversationId: string,
    userId: string,
    set: { read_seq?: ReturnType<KyselyStore['greatest']>; delivered_seq: ReturnType<KyselyStore['greatest']> },
  ): Promise<Member | undefined> {
    const row = await this.db
      .updateTable('members')
      .set(set)
      .where('app_id', '=', appId)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .returning(memberColumns)
      .executeTakeFirst();
    return row && toMember(row);
  }

  private clampToLastSeq(appId: string, conversationId: string, seq: number) {
    const lastSeq = sql<number>`(select last_seq from conversations where app_id = ${appId} and id = ${conversationId})`;
    return sql<number>`${sql.raw(this.traits.least)}(${Math.max(0, Math.floor(seq))}, ${lastSeq})`;
  }

  private greatest(a: ReturnType<typeof sql.ref>, b: ReturnType<KyselyStore['clampToLastSeq']>) {
    return sql<number>`${sql.raw(this.traits.greatest)}(${a}, ${b})`;
  }

  private memberRow(conversation: { app_id: string; id: string }, m: NewMember): Selectable<MembersTable> {
    return {
      app_id: conversation.app_id,
      conversation_id: conversation.id,
      user_id: m.user_id,
      role: m.role,
      read_seq: 0,
      delivered_seq: 0,
      muted: this.traits.bool(false),
      joined_at: m.joined_at,
    };
  }

}

function appended(m: NewMessage, seq: number): Message {
  return {
    id: m.id,
    app_id: m.app_id,
    conversation_id: m.conversation_id,
    seq,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    type: m.type,
    content: m.content,
    state: m.state,
    created_at: m.created_at,
    updated_at: m.created_at,
    edited_at: null,
  };
}

interface PendingAppend {
  message: StoredAppend;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit. Appends made during one turn of the event loop (every socket
 * read libuv delivered in that poll phase) wait for setImmediate and are then
 * written in one transaction: one WAL write and one commit for the lot instead
 * of one each. A lone append waits a single loop turn, microseconds.
 */
class AppendBatcher {
  // Bounds how long one batch blocks the event loop (better-sqlite3 is synchronous).
  static readonly MAX_BATCH = 256;
  private queue: PendingAppend[] = [];
  /** Set from the moment a drain is scheduled until the queue is empty again. */
  private draining: Promise<void> | undefined;

  constructor(private readonly write: (batch: readonly PendingAppend[]) => Promise<void>) {}

  append(message: StoredAppend): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    });
  }

  /** Resolves once every append accepted so far has been written (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.write(this.queue.splice(0, AppendBatcher.MAX_BATCH));
      }
    } finally {
      this.draining = undefined;
    }
  }
}

function toUser(r: Selectable<UsersTable>): UserRow {
  return {
    id: r.id,
    app_id: r.app_id,
    kind: r.kind,
    name: r.name,
    avatar_url: r.avatar_url,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    created_at: r.created_at,
    token_version: r.token_version,
    updated_at: r.updated_at,
  };
}

function toConversation(r: Selectable<ConversationsTable>): Conversation {
  return {
    id: r.id,
    app_id: r.app_id,
    kind: r.kind,
    title: r.title,
    last_seq: r.last_seq,
    last_message_at: r.last_message_at,
    created_by: r.created_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

function toMember(r: Pick<Selectable<MembersTable>, (typeof memberColumns)[number]>): Member {
  return {
    conversation_id: r.conversation_id,
    user_id: r.user_id,
    role: r.role,
    read_seq: r.read_seq,
    delivered_seq: r.delivered_seq,
    muted: Boolean(r.muted),
    joined_at: r.joined_at,
  };
}

function toMessage(r: Selectable<MessagesTable>, sealer: RowSealer, content?: Message['content']): Message {
  return {
    id: r.id,
    app_id: r.app_id,
    conversation_id: r.conversation_id,
    seq: r.seq,
    sender_id: r.sender_id,
    client_msg_id: r.client_msg_id,
    type: r.type,
    content: content ?? openedContent(r, sealer),
    state: r.state,
    created_at: r.created_at,
    updated_at: r.updated_at,
    edited_at: r.edited_at,
  };
}

/** A row whose seal does not open (altered, or moved from another row) is shown as unreadable, like malformed JSON. */
function openedContent(r: Selectable<MessagesTable>, sealer: RowSealer): Message['content'] {
  let text: string;
  try {
    text = sealer.open(r.app_id, 'messages.content', r.id, r.content);
  } catch {
    return UNREADABLE_CONTENT;
  }
  return readStoredContent(text);
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
