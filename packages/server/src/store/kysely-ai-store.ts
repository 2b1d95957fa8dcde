import { sql, type ExpressionBuilder, type Insertable, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { DialectTraits } from './kysely-store.ts';
import { prepare } from './prepared.ts';
import type {
  AgentMemoryRow,
  AgentRow,
  AiStore,
  KbChunkRow,
  KbDocumentRow,
  KnowledgeBaseRow,
  LedgerFilter,
  LedgerRow,
} from './port-ai.ts';
import type { AgentsTable, Database, KbChunksTable, LedgerTable } from './schema.ts';
import { guardWrite } from './guard-write.ts';
import { StoreConflict } from './port.ts';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from './sealing.ts';

/** An agent's memory of a conversation is customer text: sealed at rest, named by agent and conversation (the at-rest job uses the same). */
const MEMORY_SEALED: ReadonlyArray<SealedColumn<AgentMemoryRow>> = [{ field: 'agent_memory.summary', column: 'summary' }];
/** An agent's configuration holds the company's system prompt (and the names of its tools and knowledge): sealed at rest under the agent's id. */
const AGENT_SEALED: ReadonlyArray<SealedColumn<{ app_id: string; id: string; config: string }>> = [{ field: 'agents.config', column: 'config' }];
const agentRowId = (r: { id: string }) => r.id;
const memoryRowId = (m: AgentMemoryRow) => `${m.agent_id}/${m.conversation_id}`;

// Rows per multi-row INSERT: the widest table (ledger, 28 columns) stays far
// below both databases' bound-parameter limits.
const INSERT_BATCH = 200;

const ledgerColumns = [
  'id',
  'app_id',
  'source',
  'agent_id',
  'key_id',
  'user_id',
  'conversation_id',
  'message_id',
  'request_id',
  'purpose',
  'model',
  'deployment',
  'provider',
  'upstream_model',
  'attempt',
  'prompt_tokens',
  'cached_tokens',
  'completion_tokens',
  'reasoning_tokens',
  'estimated',
  'currency',
  'price_id',
  'ttft_ms',
  'latency_ms',
  'outcome',
  'error',
  'created_at',
  'billed_unit',
  'billed_units',
] as const;

/** Every column a ledger row is written with: the ones read back as they are, and cost_nanos (read through a cast). */
const ledgerInsertColumns = [...ledgerColumns, 'cost_nanos'] as const satisfies ReadonlyArray<keyof Insertable<LedgerTable>>;

/**
 * Exact integers past 2^53 leave the database as decimal text: the Postgres
 * pool parses BIGINT as a JS number (right for the ms timestamps everywhere
 * else) and better-sqlite3 returns numbers unless a statement opts into
 * safeIntegers. The same cast works on both, so one code path serves both.
 */
const costNanosText = sql<string>`cast(cost_nanos as text)`;
const sumNanosText = sql<string | null>`cast(sum(cost_nanos) as text)`;

/** The outcome of a row whose call is still in flight (usage/policy.ts). */
const IN_FLIGHT = 'pending';
/**
 * Rows a write with the same id may replace: an open row, and one settled as
 * interrupted by another node's start-up while this node was still running
 * the call (its own settlement is the better record).
 */
const REPLACEABLE = [IN_FLIGHT, 'interrupted'];

/**
 * What a settled row replaces in its open row: everything but the key and
 * who made the call. `excluded` is the row being written, on both databases.
 */
const settledColumns = Object.fromEntries(
  ledgerInsertColumns
    .filter((c) => c !== 'app_id' && c !== 'id')
    .map((c) => [c, sql<never>`excluded.${sql.ref(c)}`]),
) as Record<Exclude<(typeof ledgerInsertColumns)[number], 'app_id' | 'id'>, RawBuilder<never>>;

type LedgerWhere = Pick<LedgerFilter, 'since' | 'until' | 'agent_id' | 'key_id' | 'model' | 'before'>;

/** The AI half of the Store on Kysely; KyselyStore delegates to it, so both dialects share it. */
export class KyselyAiStore implements AiStore {
  /** Knowledge text (documents and chunks) is sealed with it: see KyselyStore.useSealer. */
  private sealer: RowSealer = PLAINTEXT;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly traits: DialectTraits,
  ) {}

  useSealer(sealer: RowSealer): void {
    this.sealer = sealer;
  }

  // ---- agents ----

  async putAgent(agent: AgentRow): Promise<void> {
    const [row] = (await sealColumns(this.sealer, [{
      app_id: agent.app_id,
      id: agent.id,
      config: JSON.stringify(agent.config),
      created_at: agent.created_at,
      updated_at: agent.updated_at,
    }], AGENT_SEALED, agentRowId)) as [Insertable<AgentsTable> & { config: string }];
    // An upsert, not delete-and-insert, so the agent's memory (which cascades from it) survives a redefinition.
    await guardWrite(this.traits, { conflict: `Agent ${agent.id} already exists`, missing: `App ${agent.app_id} does not exist` }, () =>
      this.db
        .insertInto('agents')
        .values(row)
        .onConflict((oc) => oc.columns(['app_id', 'id']).doUpdateSet({ config: row.config, created_at: row.created_at, updated_at: row.updated_at }))
        .execute(),
    );
  }

  async getAgent(appId: string, agentId: string): Promise<AgentRow | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('app_id', '=', appId).where('id', '=', agentId).executeTakeFirst();
    return row && (await this.openAgents([row]))[0];
  }

  async listAgents(appId: string): Promise<AgentRow[]> {
    const rows = await this.db.selectFrom('agents').selectAll().where('app_id', '=', appId).orderBy('created_at').orderBy('id').execute();
    return this.openAgents(rows);
  }

  async listAllAgents(): Promise<AgentRow[]> {
    const rows = await this.db.selectFrom('agents').selectAll().orderBy('app_id').orderBy('created_at').orderBy('id').execute();
    return this.openAgents(rows);
  }

  /** Rows as read: the configuration opened (plaintext from before sealing reads as it is), then parsed. */
  private async openAgents(rows: ReadonlyArray<Selectable<AgentsTable>>): Promise<AgentRow[]> {
    return (await openColumns(this.sealer, rows, AGENT_SEALED, agentRowId)).map(toAgent);
  }

  async deleteAgent(appId: string, agentId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('agent_memory').where('app_id', '=', appId).where('agent_id', '=', agentId).execute();
      const result = await trx.deleteFrom('agents').where('app_id', '=', appId).where('id', '=', agentId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async getAgentMemory(appId: string, agentId: string, conversationId: string): Promise<AgentMemoryRow | undefined> {
    const row = await this.db
      .selectFrom('agent_memory')
      .selectAll()
      .where('app_id', '=', appId)
      .where('agent_id', '=', agentId)
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    return row && (await openColumns(this.sealer, [row], MEMORY_SEALED, memoryRowId))[0];
  }

  async putAgentMemory(memory: AgentMemoryRow): Promise<void> {
    const [sealed] = await sealColumns(this.sealer, [memory], MEMORY_SEALED, memoryRowId);
    const { app_id, agent_id, conversation_id, summary, summary_seq, reset_seq, updated_at } = sealed!;
    await guardWrite(this.traits, { conflict: `Memory of agent ${agent_id} already exists`, missing: `Agent ${agent_id} does not exist` }, () =>
      this.db
        .insertInto('agent_memory')
        .values({ app_id, agent_id, conversation_id, summary, summary_seq, reset_seq, updated_at })
        .onConflict((oc) => oc.columns(['app_id', 'agent_id', 'conversation_id']).doUpdateSet({ summary, summary_seq, reset_seq, updated_at }))
        .execute(),
    );
  }

  // ---- knowledge bases ----

  async putKnowledgeBase(kb: KnowledgeBaseRow): Promise<void> {
    const { app_id, id, name, description, created_at, updated_at } = kb;
    await guardWrite(this.traits, { conflict: `Knowledge base ${id} already exists`, missing: `App ${app_id} does not exist` }, () =>
      this.db
        .insertInto('knowledge_bases')
        .values({ app_id, id, name, description, created_at, updated_at })
        .onConflict((oc) => oc.columns(['app_id', 'id']).doUpdateSet({ name, description, created_at, updated_at }))
        .execute(),
    );
  }

  async getKnowledgeBase(appId: string, kbId: string): Promise<KnowledgeBaseRow | undefined> {
    return this.db.selectFrom('knowledge_bases').selectAll().where('app_id', '=', appId).where('id', '=', kbId).executeTakeFirst();
  }

  async listKnowledgeBases(appId: string): Promise<KnowledgeBaseRow[]> {
    return this.db.selectFrom('knowledge_bases').selectAll().where('app_id', '=', appId).orderBy('created_at').orderBy('id').execute();
  }

  // The foreign keys cascade too; the explicit deletes keep this correct even
  // on a SQLite connection opened without foreign_keys = ON.
  async deleteKnowledgeBase(appId: string, kbId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const documentIds = trx.selectFrom('kb_documents').select('id').where('app_id', '=', appId).where('kb_id', '=', kbId);
      await trx.deleteFrom('kb_chunks').where('app_id', '=', appId).where('document_id', 'in', documentIds).execute();
      await trx.deleteFrom('kb_documents').where('app_id', '=', appId).where('kb_id', '=', kbId).execute();
      const result = await trx.deleteFrom('knowledge_bases').where('app_id', '=', appId).where('id', '=', kbId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async putDocument(doc: KbDocumentRow, chunks: KbChunkRow[]): Promise<void> {
    const stray = chunks.find((c) => c.app_id !== doc.app_id || c.kb_id !== doc.kb_id || c.document_id !== doc.id);
    if (stray) throw new Error(`Chunk ${stray.id} does not belong to document ${doc.id} of knowledge base ${doc.kb_id}`);
    const { app_id, id, kb_id, title, source, format, bytes, chunk_count, created_at, updated_at } = doc;
    await this.sealer.ready(app_id, { seal: true });
    const text = this.sealer.seal(app_id, 'kb_documents.text', id, doc.text);
    const sealedChunks = chunks.map((c) => ({ ...c, text: this.sealer.seal(app_id, 'kb_chunks.text', c.id, c.text) }));
    await guardWrite(
      this.traits,
      { conflict: `A chunk id of document ${id} is repeated or taken by another document`, missing: `Knowledge base ${kb_id} does not exist` },
      () =>
        this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('kb_documents')
            .values({ app_id, id, kb_id, title, source, format, text, bytes, chunk_count, created_at, updated_at })
            .onConflict((oc) =>
              oc.columns(['app_id', 'id']).doUpdateSet({ kb_id, title, source, format, text, bytes, chunk_count, created_at, updated_at }),
            )
            .execute();
          await trx.deleteFrom('kb_chunks').where('app_id', '=', app_id).where('document_id', '=', id).execute();
          for (const batch of batches(sealedChunks, INSERT_BATCH)) {
            await trx.insertInto('kb_chunks').values(batch.map(chunkRow)).execute();
          }
        }),
    );
  }

  async listDocuments(appId: string, kbId: string): Promise<KbDocumentRow[]> {
    const rows = await this.db
      .selectFrom('kb_documents')
      .selectAll()
      .where('app_id', '=', appId)
      .where('kb_id', '=', kbId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return this.opened(rows, 'kb_documents.text');
  }

  async getDocument(appId: string, documentId: string): Promise<KbDocumentRow | undefined> {
    const row = await this.db.selectFrom('kb_documents').selectAll().where('app_id', '=', appId).where('id', '=', documentId).executeTakeFirst();
    return row && (await this.opened([row], 'kb_documents.text'))[0];
  }

  /** Rows with their text opened; each app's keys are loaded first. A text whose seal does not open throws: knowledge is not shown half-read. */
  private async opened<R extends { app_id: string; id: string; text: string }>(rows: R[], field: 'kb_documents.text' | 'kb_chunks.text'): Promise<R[]> {
    for (const appId of new Set(rows.map((r) => r.app_id))) {
      await this.sealer.ready(appId, { stored: rows.filter((r) => r.app_id === appId).map((r) => r.text) });
    }
    return rows.map((r) => ({ ...r, text: this.sealer.open(r.app_id, field, r.id, r.text) }));
  }

  async deleteDocument(appId: string, documentId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('kb_chunks').where('app_id', '=', appId).where('document_id', '=', documentId).execute();
      const result = await trx.deleteFrom('kb_documents').where('app_id', '=', appId).where('id', '=', documentId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async listChunks(appId: string, documentId: string): Promise<KbChunkRow[]> {
    const rows = await this.db
      .selectFrom('kb_chunks')
      .selectAll()
      .where('app_id', '=', appId)
      .where('document_id', '=', documentId)
      .orderBy('ordinal')
      .execute();
    return (await this.opened(rows, 'kb_chunks.text')).map(toChunk);
  }

  async scanChunks(page: { after?: string; limit: number }): Promise<KbChunkRow[]> {
    const limit = Math.max(0, Math.floor(page.limit));
    if (limit === 0) return [];
    let query = this.db.selectFrom('kb_chunks').selectAll();
    if (page.after !== undefined) query = query.where('id', '>', page.after);
    const rows = await query.orderBy('id').orderBy('app_id').limit(limit).execute();
    const last = rows[rows.length - 1];
    if (rows.length === limit && last) {
      // The next page starts after this id, so every app's chunk with the same id must be in this one.
      const ties = await this.db
        .selectFrom('kb_chunks')
        .selectAll()
        .where('id', '=', last.id)
        .where('app_id', '>', last.app_id)
        .orderBy('app_id')
        .execute();
      rows.push(...ties);
    }
    return (await this.opened(rows, 'kb_chunks.text')).map(toChunk);
  }

  // ---- ledger ----

  async appendLedger(rows: LedgerRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((r) => this.ledgerRow(r));
    const conflict = { conflict: 'A ledger row with one of these ids already exists', missing: `App ${rows[0]!.app_id} does not exist` };
    // A row may replace only its own open (or interrupted) version; the upsert skips a settled one, and a skipped row is a conflict.
    const refused = () => new StoreConflict(conflict.conflict);
    if (this.traits.name === 'sqlite') {
      // SQLite runs in-process: one statement compiled once and run per row in a transaction costs a fraction of
      // building, compiling and preparing a new multi-row INSERT for every batch size (the flush blocked the loop for ms).
      await guardWrite(this.traits, conflict, () =>
        this.db.transaction().execute(async (trx) => {
          for (const row of values) {
            const r = await this.insertLedgerRow(trx, row);
            if (r.numAffectedRows === 0n) throw refused();
          }
        }),
      );
      return;
    }
    await guardWrite(this.traits, conflict, () =>
      this.db.transaction().execute(async (trx) => {
        for (const batch of batches(values, INSERT_BATCH)) {
          const written = await trx
            .insertInto('ledger')
            .values(batch)
            .onConflict((oc) => oc.columns(['app_id', 'id']).doUpdateSet(settledColumns).where('ledger.outcome', 'in', REPLACEABLE))
            .returning('id')
            .execute();
          if (written.length !== batch.length) throw refused();
        }
      }),
    );
  }

  async listLedger(appId: string, filter: LedgerFilter): Promise<LedgerRow[]> {
    const rows = await this.db
      .selectFrom('ledger')
      .select([...ledgerColumns, costNanosText.as('cost_nanos')])
      .where(ledgerWhere(appId, filter))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.max(0, Math.floor(filter.limit)))
      .execute();
    return rows.map(toLedger);
  }

  async listInFlightLedger(limit: number): Promise<LedgerRow[]> {
    const rows = await this.db
      .selectFrom('ledger')
      .select([...ledgerColumns, costNanosText.as('cost_nanos')])
      .where('outcome', '=', IN_FLIGHT)
      .orderBy('created_at')
      .orderBy('app_id')
      .orderBy('id')
      .limit(Math.max(0, Math.floor(limit)))
      .execute();
    return rows.map(toLedger);
  }

  async sumLedgerCost(
    appId: string,
    filter: { agent_id?: string; key_id?: string; since: number; until?: number },
  ): Promise<{ currency: string; nanos: bigint }[]> {
    const rows = await this.db
      .selectFrom('ledger')
      .select(['currency', sumNanosText.as('nanos')])
      .where(ledgerWhere(appId, filter))
      .where('outcome', '!=', IN_FLIGHT)
      .groupBy('currency')
      .orderBy('currency')
      .execute();
    return rows.map((r) => ({ currency: r.currency, nanos: BigInt(r.nanos ?? 0) }));
  }

  // ---- internals ----

  private readonly insertLedgerRow = prepare((a: Insertable<LedgerTable>) =>
    this.db
      .insertInto('ledger')
      .values(Object.fromEntries(ledgerInsertColumns.map((c) => [c, a[c]])) as Insertable<LedgerTable>)
      .onConflict((oc) => oc.columns(['app_id', 'id']).doUpdateSet(settledColumns).where('ledger.outcome', 'in', REPLACEABLE)),
  );

  private ledgerRow(r: LedgerRow): Insertable<LedgerTable> {
    return {
      id: r.id,
      app_id: r.app_id,
      source: r.source,
      agent_id: r.agent_id,
      key_id: r.key_id,
      user_id: r.user_id,
      conversation_id: r.conversation_id,
      message_id: r.message_id,
      request_id: r.request_id,
      purpose: r.purpose,
      model: r.model,
      deployment: r.deployment,
      provider: r.provider,
      upstream_model: r.upstream_model,
      attempt: r.attempt,
      prompt_tokens: r.prompt_tokens,
      cached_tokens: r.cached_tokens,
      completion_tokens: r.completion_tokens,
      reasoning_tokens: r.reasoning_tokens,
      estimated: this.traits.bool(r.estimated),
      // A caller that slipped a number past the types still writes an exact integer, or fails here rather than in SQL.
      cost_nanos: BigInt(r.cost_nanos),
      currency: r.currency,
      price_id: r.price_id,
      ttft_ms: r.ttft_ms,
      latency_ms: r.latency_ms,
      outcome: r.outcome,
      error: r.error,
      created_at: r.created_at,
      billed_unit: r.billed_unit ?? null,
      billed_units: r.billed_units ?? null,
    };
  }
}

function ledgerWhere(appId: string, f: LedgerWhere) {
  return (eb: ExpressionBuilder<Database, 'ledger'>) => {
    const terms = [eb('app_id', '=', appId)];
    if (f.since !== undefined) terms.push(eb('created_at', '>=', f.since));
    if (f.until !== undefined) terms.push(eb('created_at', '<', f.until));
    if (f.agent_id !== undefined) terms.push(eb('agent_id', '=', f.agent_id));
    if (f.key_id !== undefined) terms.push(eb('key_id', '=', f.key_id));
    if (f.model !== undefined) terms.push(eb('model', '=', f.model));
    if (f.before !== undefined) {
      terms.push(eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(f.before.created_at, f.before.id)));
    }
    return eb.and(terms);
  };
}

function toAgent(r: Selectable<AgentsTable>): AgentRow {
  return {
    app_id: r.app_id,
    id: r.id,
    config: JSON.parse(r.config) as Record<string, unknown>,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

function chunkRow(c: KbChunkRow): Insertable<KbChunksTable> {
  return {
    app_id: c.app_id,
    id: c.id,
    kb_id: c.kb_id,
    document_id: c.document_id,
    ordinal: c.ordinal,
    title: c.title,
    source: c.source,
    heading_path: JSON.stringify(c.heading_path),
    text: c.text,
    tokens: c.tokens,
  };
}

function toChunk(r: Selectable<KbChunksTable>): KbChunkRow {
  return {
    app_id: r.app_id,
    kb_id: r.kb_id,
    document_id: r.document_id,
    id: r.id,
    ordinal: r.ordinal,
    title: r.title,
    source: r.source,
    heading_path: JSON.parse(r.heading_path) as string[],
    text: r.text,
    tokens: r.tokens,
  };
}

function toLedger(r: Omit<Selectable<LedgerTable>, 'cost_nanos'> & { cost_nanos: string }): LedgerRow {
  const { billed_unit, billed_units, ...rest } = r;
  // Token-billed rows (nearly all) read back as they were written: without the unit fields, not with two nulls.
  const units = billed_unit === null ? {} : { billed_unit, billed_units: billed_units === null ? null : Number(billed_units) };
  return { ...rest, ...units, estimated: Boolean(r.estimated), cost_nanos: BigInt(r.cost_nanos) };
}

function* batches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
