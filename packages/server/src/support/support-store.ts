import type { CannedReply, HandoffReason, SupportLocale, SupportNote, SupportOutcome, SupportStatus } from '@warbler/protocol';
import { sql, type Kysely } from 'kysely';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from '../store/index.ts';

/** A note's text is sealed under its own id (the at-rest job names rows the same way). */
export const NOTE_SEALED: ReadonlyArray<SealedColumn<{ app_id: string; text: string }>> = [{ field: 'support_notes.text', column: 'text' }];
const noteRowId = (r: { id: string }) => r.id;
/** The customer's own words on a support row (why they asked for a person, their rating's comment): sealed under the conversation id. */
export const ROW_SEALED: ReadonlyArray<SealedColumn<{ app_id: string; handoff_detail?: string | null; csat_comment?: string | null }>> = [
  { field: 'support_conversations.handoff_detail', column: 'handoff_detail' },
  { field: 'support_conversations.csat_comment', column: 'csat_comment' },
];
const supportRowId = (r: { conversation_id: string }) => r.conversation_id;

/** One support conversation's support side, as stored (times in ms since the epoch). */
export interface SupportRow {
  app_id: string;
  conversation_id: string;
  customer_id: string;
  agent_id: string;
  status: SupportStatus;
  locale: SupportLocale;
  assignee_id: string | null;
  handoff_reason: HandoffReason | null;
  handoff_detail: string | null;
  handoff_at: number | null;
  handoffs: number;
  reopens: number;
  outcome: SupportOutcome | null;
  no_knowledge_streak: number;
  first_customer_at: number | null;
  first_response_at: number | null;
  first_human_response_at: number | null;
  human_messages: number;
  csat_rating: number | null;
  csat_comment: string | null;
  csat_at: number | null;
  model: string | null;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
  /** The customer's last message, and the last answer (AI or person): the abandon sweeper's "went silent" (migration 0019). */
  last_customer_at: number | null;
  last_response_at: number | null;
}

/** Runs inside a change's transaction, with its handle: the support event row and the outbox rows commit with the change. */
export type WithinChange = (tx: Kysely<any>, row: SupportRow) => Promise<void>;

export type SupportPatch = Partial<Omit<SupportRow, 'app_id' | 'conversation_id' | 'customer_id' | 'agent_id' | 'created_at'>> & { updated_at: number };

export interface SupportEventRow {
  app_id: string;
  id: string;
  conversation_id: string;
  /** handoff | assigned | resolved | reopened | returned_to_bot | closed */
  type: string;
  reason: string | null;
  actor_id: string | null;
  created_at: number;
}

interface SupportTables {
  support_conversations: SupportRow;
  support_events: SupportEventRow;
  support_notes: SupportNote & { app_id: string };
  support_canned_replies: CannedReply & { app_id: string };
  support_staff: { app_id: string; user_id: string; granted_at: number };
  support_policies: { app_id: string; agent_id: string; policy: string; updated_at: number };
  ledger: { app_id: string; conversation_id: string | null; cost_nanos: bigint | string | number; currency: string; model: string; created_at: number };
}

const NUMERIC: (keyof SupportRow)[] = [
  'handoff_at', 'handoffs', 'reopens', 'no_knowledge_streak', 'first_customer_at', 'first_response_at', 'first_human_response_at',
  'human_messages', 'csat_rating', 'csat_at', 'created_at', 'updated_at', 'resolved_at', 'last_customer_at', 'last_response_at',
];

/**
 * The support room's tables. Every query carries the app id. The one read
 * outside them is the ledger's cost per conversation (the usage room writes
 * it; reading sums by conversation is what "exact cost" means, and an index
 * for it is in the support migration).
 */
export class SupportStore {
  private readonly db: Kysely<SupportTables>;

  constructor(
    db: Kysely<any>,
    private readonly isUniqueViolation: (err: unknown) => boolean,
    /** Internal notes are what staff write about a customer: sealed at rest like the conversation itself. */
    private readonly sealer: RowSealer = PLAINTEXT,
  ) {
    this.db = db as Kysely<SupportTables>;
  }

  /** Inserts the row (and what `within` writes, in the same transaction); false when the customer already has an open conversation with this agent. */
  async insert(row: SupportRow, within?: WithinChange): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (tx) => {
        const [sealed] = await sealColumns(this.sealer, [row], ROW_SEALED, supportRowId);
        await tx.insertInto('support_conversations').values(sealed!).execute();
        await within?.(tx, row);
      });
      return true;
    } catch (err) {
      if (this.isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Apps with at least one support conversation: messages of other apps are not looked at. */
  async apps(): Promise<string[]> {
    const rows = await this.db.selectFrom('support_conversations').select('app_id').distinct().execute();
    return rows.map((r) => r.app_id);
  }

  async get(appId: string, conversationId: string): Promise<SupportRow | undefined> {
    const row = await this.db.selectFrom('support_conversations').selectAll().where('app_id', '=', appId).where('conversation_id', '=', conversationId).executeTakeFirst();
    return row && (await this.opened([row]))[0];
  }

  /** The customer's conversation with the agent that is not closed, if any. */
  async findOpen(appId: string, customerId: string, agentId: string): Promise<SupportRow | undefined> {
    const row = await this.db.selectFrom('support_conversations').selectAll()
      .where('app_id', '=', appId).where('customer_id', '=', customerId).where('agent_id', '=', agentId).where('status', '<>', 'closed')
      .executeTakeFirst();
    return row && (await this.opened([row]))[0];
  }

  /**
   * Applies the patch only while the row is in one of `from` (when given):
   * a compare-and-set, so two people claiming at once cannot both win and a
   * resolve is applied once. Returns the row after, or undefined when it did not apply.
   */
  async update(appId: string, conversationId: string, patch: SupportPatch, from?: ChangeGuard): Promise<SupportRow | undefined> {
    if (!(await this.apply(this.db, appId, conversationId, patch, from))) return undefined;
    return this.get(appId, conversationId);
  }

  /**
   * The compare-and-set of `update`, and `within` (the support event, the
   * outbox rows), in one transaction: the change and what it announces commit
   * together or not at all. Undefined when the change did not apply.
   */
  async transition(appId: string, conversationId: string, patch: SupportPatch, from: ChangeGuard, within: WithinChange): Promise<SupportRow | undefined> {
    return this.db.transaction().execute(async (tx) => {
      if (!(await this.apply(tx, appId, conversationId, patch, from))) return undefined;
      const row = await tx.selectFrom('support_conversations').selectAll().where('app_id', '=', appId).where('conversation_id', '=', conversationId).executeTakeFirstOrThrow();
      const [after] = await this.opened([row]);
      await within(tx, after!);
      return after;
    });
  }

  /** Rows as read: the customer's words opened (plaintext from before sealing reads as it is), numbers as numbers. */
  private async opened(rows: readonly SupportRow[]): Promise<SupportRow[]> {
    return (await openColumns(this.sealer, rows, ROW_SEALED, supportRowId)).map(normalise);
  }

  private async apply(db: Kysely<SupportTables>, appId: string, conversationId: string, patch: SupportPatch, from?: ChangeGuard): Promise<boolean> {
    const [{ app_id: _app, conversation_id: _conversation, ...sealed }] = (await sealColumns(this.sealer, [{ app_id: appId, conversation_id: conversationId, ...patch }], ROW_SEALED, supportRowId)) as [SupportPatch & { app_id: string; conversation_id: string }];
    let q = db.updateTable('support_conversations').set(sealed as SupportPatch).where('app_id', '=', appId).where('conversation_id', '=', conversationId);
    if (from?.status) q = q.where('status', 'in', from.status);
    if (from?.assignee !== undefined) q = from.assignee === null ? q.where('assignee_id', 'is', null) : q.where('assignee_id', '=', from.assignee);
    if (from?.unrated) q = q.where('csat_rating', 'is', null);
    if (from?.quietBefore !== undefined) q = q.where(quietSince(from.quietBefore));
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Open conversations whose customer went silent before `cutoff`, any app,
   * oldest first: the abandon sweeper's work. See `quietSince`.
   */
  async quiet(cutoff: number, limit: number): Promise<SupportRow[]> {
    const rows = await this.db.selectFrom('support_conversations').selectAll()
      .where('status', 'in', ['bot', 'human']).where(quietSince(cutoff))
      .orderBy('updated_at', 'asc').limit(limit).execute();
    return this.opened(rows);
  }

  /** The customer wrote: the last time, and the first if it is the first. One statement on the send path. */
  async customerWrote(appId: string, conversationId: string, at: number): Promise<void> {
    await this.db.updateTable('support_conversations')
      .set({ last_customer_at: at, first_customer_at: sql<number>`coalesce(first_customer_at, ${at})` })
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).execute();
  }

  /** Someone answered the customer (the AI, or a person: `human`); first times are set once. One statement. */
  async answered(appId: string, conversationId: string, at: number, human: boolean): Promise<void> {
    const set: Record<string, unknown> = { last_response_at: at, first_response_at: sql<number>`coalesce(first_response_at, ${at})` };
    if (human) {
      Object.assign(set, { first_human_response_at: sql<number>`coalesce(first_human_response_at, ${at})`, human_messages: sql<number>`human_messages + 1`, updated_at: at });
    }
    await this.db.updateTable('support_conversations').set(set as never)
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).execute();
  }

  /** Sets the rating only while there is none: the once-only rule holds even for two requests at the same moment. */
  async rate(appId: string, conversationId: string, csat: { rating: number; comment: string | null; at: number }, within: WithinChange): Promise<SupportRow | undefined> {
    return this.transition(appId, conversationId, { csat_rating: csat.rating, csat_comment: csat.comment, csat_at: csat.at, updated_at: csat.at }, { unrated: true }, within);
  }

  /** Adds to counters in place (no read-modify-write race between two messages at once). */
  async bump(appId: string, conversationId: string, counter: 'human_messages' | 'no_knowledge_streak', now: number): Promise<void> {
    await this.db.updateTable('support_conversations')
      .set({ [counter]: sql`${sql.ref(counter)} + 1`, updated_at: now } as never)
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).execute();
  }

  /** Sets a time only if it is not set yet (first response, first human response). */
  async setOnce(appId: string, conversationId: string, column: 'first_customer_at' | 'first_response_at' | 'first_human_response_at', at: number): Promise<void> {
    await this.db.updateTable('support_conversations').set({ [column]: at } as never)
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).where(column, 'is', null).execute();
  }

  async list(appId: string, filter: { statuses?: SupportStatus[]; assignee?: string | null; before?: number; limit: number }): Promise<SupportRow[]> {
    let q = this.db.selectFrom('support_conversations').selectAll().where('app_id', '=', appId);
    if (filter.statuses) q = q.where('status', 'in', filter.statuses);
    if (filter.assignee !== undefined) q = filter.assignee === null ? q.where('assignee_id', 'is', null) : q.where('assignee_id', '=', filter.assignee);
    if (filter.before !== undefined) q = q.where('updated_at', '<', filter.before);
    const rows = await q.orderBy('updated_at', 'desc').orderBy('conversation_id', 'desc').limit(filter.limit).execute();
    return this.opened(rows);
  }

  /** Conversations created in [since, until), for the report. */
  async created(appId: string, since: number, until: number, limit: number): Promise<SupportRow[]> {
    const rows = await this.db.selectFrom('support_conversations').selectAll()
      .where('app_id', '=', appId).where('created_at', '>=', since).where('created_at', '<', until)
      .orderBy('created_at', 'asc').limit(limit).execute();
    return this.opened(rows);
  }

  async addEvent(row: SupportEventRow, tx?: Kysely<any>): Promise<void> {
    await ((tx as Kysely<SupportTables> | undefined) ?? this.db).insertInto('support_events').values(row).execute();
  }

  async events(appId: string, conversationIds: readonly string[]): Promise<SupportEventRow[]> {
    const out: SupportEventRow[] = [];
    for (let i = 0; i < conversationIds.length; i += 500) {
      const rows = await this.db.selectFrom('support_events').selectAll()
        .where('app_id', '=', appId).where('conversation_id', 'in', conversationIds.slice(i, i + 500)).orderBy('created_at', 'asc').execute();
      out.push(...rows.map((r) => ({ ...r, created_at: Number(r.created_at) })));
    }
    return out;
  }

  /** Cost of every model call of these conversations, per conversation and currency, in nanos. */
  async cost(appId: string, conversationIds: readonly string[]): Promise<Map<string, Map<string, bigint>>> {
    const out = new Map<string, Map<string, bigint>>();
    for (let i = 0; i < conversationIds.length; i += 500) {
      const rows = await this.db.selectFrom('ledger')
        .select(['conversation_id', 'currency', sql<string>`sum(cost_nanos)`.as('nanos')])
        .where('app_id', '=', appId).where('conversation_id', 'in', conversationIds.slice(i, i + 500))
        .groupBy(['conversation_id', 'currency']).execute();
      for (const r of rows) {
        if (!r.conversation_id) continue;
        const per = out.get(r.conversation_id) ?? new Map<string, bigint>();
        per.set(r.currency, (per.get(r.currency) ?? 0n) + BigInt(String(r.nanos ?? 0)));
        out.set(r.conversation_id, per);
      }
    }
    return out;
  }

  /** The model that answered most of a conversation's calls (for the report by model). */
  async models(appId: string, conversationIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < conversationIds.length; i += 500) {
      const rows = await this.db.selectFrom('ledger')
        .select(['conversation_id', 'model', sql<string>`count(*)`.as('calls')])
        .where('app_id', '=', appId).where('conversation_id', 'in', conversationIds.slice(i, i + 500))
        .groupBy(['conversation_id', 'model']).execute();
      const best = new Map<string, number>();
      for (const r of rows) {
        if (!r.conversation_id) continue;
        const calls = Number(r.calls);
        if (calls > (best.get(r.conversation_id) ?? 0)) {
          best.set(r.conversation_id, calls);
          out.set(r.conversation_id, r.model);
        }
      }
    }
    return out;
  }

  // ---- notes ----
  async addNote(appId: string, note: SupportNote): Promise<void> {
    const [row] = await sealColumns(this.sealer, [{ app_id: appId, ...note }], NOTE_SEALED, noteRowId);
    await this.db.insertInto('support_notes').values(row!).execute();
  }

  async notes(appId: string, conversationId: string, limit: number): Promise<SupportNote[]> {
    const rows = await this.db.selectFrom('support_notes').select(['app_id', 'id', 'conversation_id', 'author_id', 'text', 'created_at'])
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).orderBy('created_at', 'asc').limit(limit).execute();
    const opened = await openColumns(this.sealer, rows, NOTE_SEALED, noteRowId);
    return opened.map(({ app_id: _app, ...r }) => ({ ...r, created_at: Number(r.created_at) }));
  }

  /** How many notes a conversation holds (the cap's check; nothing opened). */
  async noteCount(appId: string, conversationId: string): Promise<number> {
    const row = await this.db.selectFrom('support_notes').select(sql<string>`count(*)`.as('n'))
      .where('app_id', '=', appId).where('conversation_id', '=', conversationId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  // ---- canned replies ----
  async putCanned(appId: string, reply: CannedReply): Promise<void> {
    const { id, ...rest } = reply;
    const done = await this.db.updateTable('support_canned_replies').set({ title: rest.title, text: rest.text, updated_at: rest.updated_at })
      .where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) await this.db.insertInto('support_canned_replies').values({ app_id: appId, ...reply }).execute();
  }

  async getCanned(appId: string, id: string): Promise<CannedReply | undefined> {
    const row = await this.db.selectFrom('support_canned_replies').select(['id', 'title', 'text', 'created_by', 'created_at', 'updated_at'])
      .where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && { ...row, created_at: Number(row.created_at), updated_at: Number(row.updated_at) };
  }

  async listCanned(appId: string, limit: number): Promise<CannedReply[]> {
    const rows = await this.db.selectFrom('support_canned_replies').select(['id', 'title', 'text', 'created_by', 'created_at', 'updated_at'])
      .where('app_id', '=', appId).orderBy('title', 'asc').orderBy('id', 'asc').limit(limit).execute();
    return rows.map((r) => ({ ...r, created_at: Number(r.created_at), updated_at: Number(r.updated_at) }));
  }

  async countCanned(appId: string): Promise<number> {
    const row = await this.db.selectFrom('support_canned_replies').select(sql<string>`count(*)`.as('n')).where('app_id', '=', appId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async deleteCanned(appId: string, id: string): Promise<boolean> {
    const done = await this.db.deleteFrom('support_canned_replies').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(done.numDeletedRows) > 0;
  }

  // ---- staff ----
  async grant(appId: string, userId: string, now: number): Promise<void> {
    try {
      await this.db.insertInto('support_staff').values({ app_id: appId, user_id: userId, granted_at: now }).execute();
    } catch (err) {
      if (!this.isUniqueViolation(err)) throw err;
    }
  }

  async revoke(appId: string, userId: string): Promise<boolean> {
    const done = await this.db.deleteFrom('support_staff').where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
    return Number(done.numDeletedRows) > 0;
  }

  async isStaff(appId: string, userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('support_staff').select('user_id').where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  async staff(appId: string, limit: number): Promise<{ user_id: string; granted_at: number }[]> {
    const rows = await this.db.selectFrom('support_staff').select(['user_id', 'granted_at']).where('app_id', '=', appId).orderBy('granted_at', 'asc').limit(limit).execute();
    return rows.map((r) => ({ user_id: r.user_id, granted_at: Number(r.granted_at) }));
  }

  // ---- policies ----
  async policy(appId: string, agentId: string): Promise<unknown> {
    const row = await this.db.selectFrom('support_policies').select('policy').where('app_id', '=', appId).where('agent_id', '=', agentId).executeTakeFirst();
    return row ? JSON.parse(row.policy) : undefined;
  }

  async putPolicy(appId: string, agentId: string, policy: unknown, now: number): Promise<void> {
    const text = JSON.stringify(policy);
    const done = await this.db.updateTable('support_policies').set({ policy: text, updated_at: now })
      .where('app_id', '=', appId).where('agent_id', '=', agentId).executeTakeFirst();
    if (Number(done.numUpdatedRows) > 0) return;
    try {
      await this.db.insertInto('support_policies').values({ app_id: appId, agent_id: agentId, policy: text, updated_at: now }).execute();
    } catch (err) {
      // Written by another request at the same moment: the last write wins, as with an update.
      if (!this.isUniqueViolation(err)) throw err;
      await this.db.updateTable('support_policies').set({ policy: text, updated_at: now }).where('app_id', '=', appId).where('agent_id', '=', agentId).execute();
    }
  }
}

export interface ChangeGuard {
  status?: SupportStatus[];
  assignee?: string | null;
  /** Only while no rating is given. */
  unrated?: boolean;
  /** Only while the customer has been silent since before this time (see quietSince). */
  quietBefore?: number;
}

/**
 * The customer went silent before `cutoff`: they never wrote and the
 * conversation is older than that, or their last message is older and was
 * answered since. A customer whose last message nobody answered has not gone
 * silent: we have.
 */
function quietSince(cutoff: number) {
  return sql<boolean>`((last_customer_at is null and created_at < ${cutoff}) or (last_customer_at < ${cutoff} and last_response_at >= last_customer_at))`;
}

// PostgreSQL hands bigint columns back as strings.
function normalise(row: SupportRow): SupportRow {
  const out = { ...row } as Record<string, unknown>;
  for (const k of NUMERIC) if (out[k] !== null && out[k] !== undefined) out[k] = Number(out[k]);
  return out as unknown as SupportRow;
}

/** SQLite's and PostgreSQL's unique-violation errors. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
