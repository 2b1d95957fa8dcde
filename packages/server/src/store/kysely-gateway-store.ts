import type { CompiledQuery, Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DialectTraits } from './kysely-store.ts';
import type {
  ApiKeyPatch,
  ApiKeyRow,
  BatchItemRow,
  BatchPatch,
  BatchRow,
  BatchStatus,
  GatewayFileRow,
  GatewayStore,
  StoredResponseRow,
  LeaseRow,
} from './port-gateway.ts';
import type { ApiKeysTable, BatchesTable, BatchItemsTable, Database, ResponsesTable } from './schema.ts';
import { guardWrite } from './guard-write.ts';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from './sealing.ts';

/** A stored response holds the conversation sent through /v1: sealed at rest. */
/** A response that continues none has no history: "[]", left unsealed (the background job leaves it too, at-rest/rotation.ts). */
const EMPTY_HISTORY = '[]';
const RESPONSE_SEALED: ReadonlyArray<SealedColumn<{ app_id: string; id: string; body: string; input: string; history: string }>> = [
  { field: 'responses.body', column: 'body' }, { field: 'responses.input', column: 'input' }, { field: 'responses.history', column: 'history', empty: EMPTY_HISTORY },
];

/** A batch line's result holds the model's answer (or the error) to a customer's request: sealed at rest under batch/line. */
const BATCH_ITEM_SEALED: ReadonlyArray<SealedColumn<{ app_id: string; batch_id: string; line: number; result: string }>> = [{ field: 'batch_items.result', column: 'result' }];
const batchItemId = (r: { batch_id: string; line: number }) => `${r.batch_id}/${r.line}`;

// Rows per multi-row INSERT: batch_items has 7 columns, far below both databases' parameter limits.
const INSERT_BATCH = 500;

/** The gateway part of the Store on Kysely; KyselyStore delegates to it, so both dialects share it. */
export class KyselyGatewayStore implements GatewayStore {
  /** Stored responses are sealed with it: see KyselyStore.useSealer. */
  private sealer: RowSealer = PLAINTEXT;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly traits: DialectTraits,
  ) {}

  useSealer(sealer: RowSealer): void {
    this.sealer = sealer;
  }

  // ---- virtual keys ----

  async createApiKey(key: ApiKeyRow): Promise<void> {
    await guardWrite(this.traits, { conflict: `Key ${key.id} already exists (or its secret is in use)`, missing: `App ${key.app_id} does not exist` }, () =>
      this.db.insertInto('api_keys').values(apiKeyRow(key)).execute(),
    );
  }

  async getApiKeyByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    return row && toApiKey(row);
  }

  async getApiKey(appId: string, keyId: string): Promise<ApiKeyRow | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('app_id', '=', appId).where('id', '=', keyId).executeTakeFirst();
    return row && toApiKey(row);
  }

  async listApiKeys(appId: string): Promise<ApiKeyRow[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('app_id', '=', appId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toApiKey);
  }

  async updateApiKey(appId: string, keyId: string, patch: ApiKeyPatch): Promise<ApiKeyRow | undefined> {
    const set: Updateable<ApiKeysTable> = { updated_at: patch.updated_at };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.allowed_models !== undefined) set.allowed_models = patch.allowed_models === null ? null : JSON.stringify(patch.allowed_models);
    if (patch.monthly_budget_usd !== undefined) set.monthly_budget_usd = patch.monthly_budget_usd;
    if (patch.rpm !== undefined) set.rpm = patch.rpm;
    if (patch.tpm !== undefined) set.tpm = patch.tpm;
    if (patch.expires_at !== undefined) set.expires_at = patch.expires_at;
    if (patch.revoked_at !== undefined) set.revoked_at = patch.revoked_at;
    if (patch.metadata !== undefined) set.metadata = JSON.stringify(patch.metadata);
    const row = await this.db
      .updateTable('api_keys')
      .set(set)
      .where('app_id', '=', appId)
      .where('id', '=', keyId)
      .returningAll()
      .executeTakeFirst();
    return row && toApiKey(row);
  }

  // ---- files ----

  async createGatewayFile(file: GatewayFileRow): Promise<void> {
    const { app_id, id, purpose, filename, bytes, path, key_id, created_at } = file;
    await guardWrite(this.traits, { conflict: `File ${id} already exists`, missing: `App ${app_id} does not exist` }, () =>
      this.db.insertInto('gateway_files').values({ app_id, id, purpose, filename, bytes, path, key_id, created_at }).execute(),
    );
  }

  async getGatewayFile(appId: string, fileId: string): Promise<GatewayFileRow | undefined> {
    return this.db.selectFrom('gateway_files').selectAll().where('app_id', '=', appId).where('id', '=', fileId).executeTakeFirst();
  }

  async listGatewayFiles(appId: string, page: { purpose?: string; limit: number; after?: string }): Promise<GatewayFileRow[]> {
    const limit = Math.max(0, Math.floor(page.limit));
    if (limit === 0) return [];
    let query = this.db.selectFrom('gateway_files').selectAll().where('app_id', '=', appId);
    if (page.purpose !== undefined) query = query.where('purpose', '=', page.purpose);
    if (page.after !== undefined) {
      const anchor = await this.db
        .selectFrom('gateway_files')
        .select(['created_at', 'id'])
        .where('app_id', '=', appId)
        .where('id', '=', page.after)
        .executeTakeFirst();
      // A cursor that names no file (deleted since) ends the listing rather than restarting it, so a client's loop always ends.
      if (!anchor) return [];
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(anchor.created_at, anchor.id)));
    }
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async deleteGatewayFile(appId: string, fileId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('gateway_files').where('app_id', '=', appId).where('id', '=', fileId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // ---- stored responses ----

  async putResponse(r: StoredResponseRow): Promise<void> {
    const rows = await sealColumns(this.sealer, [responseColumns(r)], RESPONSE_SEALED, (x) => x.id);
    await guardWrite(this.traits, { conflict: `Response ${r.id} already exists`, missing: `App ${r.app_id} does not exist` }, () => this.insertResponses(rows));
  }

  async putResponses(responses: readonly StoredResponseRow[]): Promise<void> {
    if (responses.length === 0) return;
    const rows = await sealColumns(this.sealer, responses.map(responseColumns), RESPONSE_SEALED, (x) => x.id);
    await guardWrite(this.traits, { conflict: 'A response already exists', missing: 'An app does not exist' }, () => this.insertResponses(rows));
  }

  /**
   * Every /v1/responses call with store on writes its row (in groups, see
   * gateway/responses/keeper.ts, at most 200 rows): the INSERT for n rows is
   * compiled once per n, since Kysely's build-and-compile per group cost a
   * third of SQLite's own work on it. A row already there gets the new status
   * and body (a response kept again when it ends).
   */
  private readonly insertsByCount = new Map<number, CompiledQuery>();

  private insertResponses(rows: readonly Insertable<ResponsesTable>[]): Promise<unknown> {
    let compiled = this.insertsByCount.get(rows.length);
    if (!compiled) {
      // Compiled with stand-ins saying which row's column each parameter is.
      const stand = rows.map((_, i) => Object.fromEntries(RESPONSE_COLUMNS.map((c) => [c, new Place(i, c)])) as unknown as Insertable<ResponsesTable>);
      compiled = this.db
        .insertInto('responses')
        .values(stand)
        .onConflict((oc) => oc.columns(['app_id', 'id']).doUpdateSet((eb) => ({ status: eb.ref('excluded.status'), body: eb.ref('excluded.body') })))
        .compile();
      this.insertsByCount.set(rows.length, compiled);
    }
    const parameters = compiled.parameters.map((p) => (p instanceof Place ? rows[p.row]![p.column] : p));
    return this.db.executeQuery({ ...compiled, parameters });
  }

  async getResponse(appId: string, responseId: string): Promise<StoredResponseRow | undefined> {
    const row = await this.db.selectFrom('responses').selectAll().where('app_id', '=', appId).where('id', '=', responseId).executeTakeFirst();
    return row && toStoredResponse((await openColumns(this.sealer, [row], RESPONSE_SEALED, (x) => x.id))[0]!);
  }

  async deleteResponse(appId: string, responseId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('responses').where('app_id', '=', appId).where('id', '=', responseId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- batches ----

  async createBatch(batch: BatchRow): Promise<void> {
    await guardWrite(this.traits, { conflict: `Batch ${batch.id} already exists`, missing: `App ${batch.app_id} does not exist` }, () =>
      this.db.insertInto('batches').values(batchRow(batch)).execute(),
    );
  }

  async getBatch(appId: string, batchId: string): Promise<BatchRow | undefined> {
    const row = await this.db.selectFrom('batches').selectAll().where('app_id', '=', appId).where('id', '=', batchId).executeTakeFirst();
    return row && toBatch(row);
  }

  async listBatches(appId: string, page: { limit: number; after?: string }): Promise<BatchRow[]> {
    const limit = Math.max(0, Math.floor(page.limit));
    if (limit === 0) return [];
    let query = this.db.selectFrom('batches').selectAll().where('app_id', '=', appId);
    if (page.after !== undefined) {
      const anchor = await this.db
        .selectFrom('batches')
        .select(['created_at', 'id'])
        .where('app_id', '=', appId)
        .where('id', '=', page.after)
        .executeTakeFirst();
      if (!anchor) return [];
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(anchor.created_at, anchor.id)));
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toBatch);
  }

  async updateBatch(appId: string, batchId: string, patch: BatchPatch, fromStatuses?: BatchStatus[]): Promise<BatchRow | undefined> {
    if (fromStatuses !== undefined && fromStatuses.length === 0) return undefined;
    const set = batchPatch(patch);
    if (Object.keys(set).length === 0) {
      let query = this.db.selectFrom('batches').selectAll().where('app_id', '=', appId).where('id', '=', batchId);
      if (fromStatuses) query = query.where('status', 'in', fromStatuses);
      const row = await query.executeTakeFirst();
      return row && toBatch(row);
    }
    // One conditional UPDATE: the status check and the write are atomic, so of two racing transitions exactly one applies.
    let query = this.db.updateTable('batches').set(set).where('app_id', '=', appId).where('id', '=', batchId);
    if (fromStatuses) query = query.where('status', 'in', fromStatuses);
    const row = await query.returningAll().executeTakeFirst();
    return row && toBatch(row);
  }

  async listBatchesByStatus(statuses: BatchStatus[], limit: number): Promise<BatchRow[]> {
    const n = Math.max(0, Math.floor(limit));
    if (statuses.length === 0 || n === 0) return [];
    const rows = await this.db
      .selectFrom('batches')
      .selectAll()
      .where('status', 'in', statuses)
      .orderBy('created_at')
      .orderBy('app_id')
      .orderBy('id')
      .limit(n)
      .execute();
    return rows.map(toBatch);
  }

  async putBatchItems(items: BatchItemRow[]): Promise<void> {
    if (items.length === 0) return;
    const values = await sealColumns(this.sealer, items.map(batchItemRow), BATCH_ITEM_SEALED, batchItemId);
    const write = async (db: Kysely<Database>) => {
      for (let i = 0; i < values.length; i += INSERT_BATCH) {
        await db
          .insertInto('batch_items')
          .values(values.slice(i, i + INSERT_BATCH))
          .onConflict((oc) => oc.columns(['app_id', 'batch_id', 'line']).doNothing())
          .execute();
      }
    };
    await guardWrite(this.traits, { conflict: 'A batch item conflicts with another', missing: `Batch ${items[0]!.batch_id} does not exist` }, () =>
      values.length <= INSERT_BATCH ? write(this.db) : this.db.transaction().execute(write),
    );
  }

  async takeLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const until = now + ttlMs;
    // Insert, or take over a row that is ours or expired; a row someone else holds is left alone and nothing comes back.
    const row = await this.db
      .insertInto('leases')
      .values({ name, owner, until })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ owner, until })
          .where((eb) => eb.or([eb('leases.owner', '=', owner), eb('leases.until', '<', now)])),
      )
      .returning('owner')
      .executeTakeFirst();
    return row?.owner === owner;
  }

  async dropLease(name: string, owner: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('owner', '=', owner).execute();
  }

  async listLeases(query: { names: string[] } | { prefix: string }): Promise<LeaseRow[]> {
    let select = this.db.selectFrom('leases').select(['name', 'owner', 'until']);
    if ('names' in query) {
      if (query.names.length === 0) return [];
      select = select.where('name', 'in', query.names);
    } else {
      // Callers pass fixed prefixes ('node:'), without LIKE's wildcards.
      select = select.where('name', 'like', `${query.prefix}%`);
    }
    const rows = await select.execute();
    return rows.map((r) => ({ name: r.name, owner: r.owner, until: Number(r.until) }));
  }

  async listBatchItems(appId: string, batchId: string): Promise<BatchItemRow[]> {
    const rows = await this.db
      .selectFrom('batch_items')
      .selectAll()
      .where('app_id', '=', appId)
      .where('batch_id', '=', batchId)
      .orderBy('line')
      .execute();
    return (await openColumns(this.sealer, rows.map((r) => ({ ...r, line: Number(r.line) })), BATCH_ITEM_SEALED, batchItemId)).map(toBatchItem);
  }
}

function apiKeyRow(k: ApiKeyRow): Insertable<ApiKeysTable> {
  return {
    app_id: k.app_id,
    id: k.id,
    name: k.name,
    key_hash: k.key_hash,
    prefix: k.prefix,
    allowed_models: k.allowed_models === null ? null : JSON.stringify(k.allowed_models),
    monthly_budget_usd: k.monthly_budget_usd,
    rpm: k.rpm,
    tpm: k.tpm,
    expires_at: k.expires_at,
    revoked_at: k.revoked_at,
    metadata: JSON.stringify(k.metadata),
    created_at: k.created_at,
    updated_at: k.updated_at,
  };
}

function toApiKey(r: Selectable<ApiKeysTable>): ApiKeyRow {
  return {
    ...r,
    allowed_models: r.allowed_models === null ? null : (JSON.parse(r.allowed_models) as string[]),
    monthly_budget_usd: r.monthly_budget_usd === null ? null : Number(r.monthly_budget_usd),
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  };
}

function batchRow(b: BatchRow): Insertable<BatchesTable> {
  return { ...b, metadata: JSON.stringify(b.metadata), errors: JSON.stringify(b.errors) };
}

function batchPatch(p: BatchPatch): Updateable<BatchesTable> {
  const set: Updateable<BatchesTable> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    (set as Record<string, unknown>)[k] = k === 'metadata' || k === 'errors' ? JSON.stringify(v) : v;
  }
  return set;
}

function toBatch(r: Selectable<BatchesTable>): BatchRow {
  return {
    ...r,
    status: r.status as BatchStatus,
    metadata: JSON.parse(r.metadata) as BatchRow['metadata'],
    errors: JSON.parse(r.errors) as BatchRow['errors'],
  };
}

function batchItemRow(i: BatchItemRow): Insertable<BatchItemsTable> & { result: string } {
  return { ...i, result: JSON.stringify(i.result) };
}

function toBatchItem(r: Selectable<BatchItemsTable>): BatchItemRow {
  return { ...r, result: JSON.parse(r.result) as Record<string, unknown> };
}

function toStoredResponse(r: Selectable<ResponsesTable>): StoredResponseRow {
  return {
    ...r,
    created_at: Number(r.created_at),
    body: JSON.parse(r.body) as Record<string, unknown>,
    input: JSON.parse(r.input) as Record<string, unknown>[],
    history: JSON.parse(r.history) as Record<string, unknown>[],
  };
}

/** A stored response as its table's columns (JSON as text), before sealing. */
const RESPONSE_COLUMNS = ['app_id', 'id', 'key_id', 'status', 'previous_response_id', 'body', 'input', 'history', 'created_at'] as const;

/** Stands in for a row's value while an INSERT is compiled; never reaches the database. */
class Place {
  constructor(
    readonly row: number,
    readonly column: (typeof RESPONSE_COLUMNS)[number],
  ) {}
}

function responseColumns(r: StoredResponseRow) {
  return {
    app_id: r.app_id, id: r.id, key_id: r.key_id, status: r.status, previous_response_id: r.previous_response_id,
    body: r.bodyJson ?? JSON.stringify(r.body), input: JSON.stringify(r.input), history: JSON.stringify(r.history), created_at: r.created_at,
  };
}
