// The webhooks room's own tables (migration 0012_webhooks), behind the narrow
// interface the room uses. No other room reads them.
import type { Kysely } from 'kysely';
import { openColumns, PLAINTEXT, sealColumns, type RowSealer, type SealedColumn } from '../store/index.ts';

/** A delivery's body carries the event, often customer text (a message.created holds the message): sealed at rest. */
const DELIVERY_SEALED: ReadonlyArray<SealedColumn<DeliveryRow>> = [{ field: 'webhook_deliveries.body', column: 'body' }];
const deliveryId = (d: DeliveryRow) => d.id;

export interface EndpointRow {
  app_id: string;
  id: string;
  url: string;
  description: string;
  /** JSON array of event types; [] = every type. */
  event_types: string;
  enabled: number;
  /** Sealed with the master key (SecretBox). */
  secret: string;
  secret_prefix: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  created_at: number;
  updated_at: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: string;
  app_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  /** The exact bytes POSTed (and signed). */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  claimed_by: string | null;
  claimed_until: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  app_id: string;
  at: number;
  status_code: number | null;
  latency_ms: number;
  response: string;
  error: string | null;
}

interface Tables {
  webhook_endpoints: EndpointRow;
  webhook_deliveries: DeliveryRow;
  webhook_attempts: AttemptRow;
}

export type EndpointPatch = Partial<Pick<EndpointRow, 'url' | 'description' | 'event_types' | 'enabled' | 'secret' | 'secret_prefix' | 'previous_secret' | 'previous_secret_until'>> & {
  updated_at: number;
};

/** What an attempt leaves on its row: delivered, failed for good, or pending again at a later time. */
export type AttemptOutcome = { status: 'delivered'; at: number } | { status: 'failed' } | { status: 'pending'; next_attempt_at: number };

export class WebhookStore {
  private readonly db: Kysely<Tables>;

  constructor(
    db: Kysely<any>,
    private readonly sealer: RowSealer = PLAINTEXT,
  ) {
    this.db = db as Kysely<Tables>;
  }

  async createEndpoint(row: EndpointRow): Promise<void> {
    await this.db.insertInto('webhook_endpoints').values(row).execute();
  }

  async getEndpoint(appId: string, id: string): Promise<EndpointRow | undefined> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
  }

  async listEndpoints(appId: string): Promise<EndpointRow[]> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('app_id', '=', appId).orderBy('created_at').orderBy('id').execute();
  }

  async countEndpoints(appId: string): Promise<number> {
    const r = await this.db.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', appId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async updateEndpoint(appId: string, id: string, patch: EndpointPatch): Promise<EndpointRow | undefined> {
    await this.db.updateTable('webhook_endpoints').set(patch).where('app_id', '=', appId).where('id', '=', id).execute();
    return this.getEndpoint(appId, id);
  }

  /** Deletes the endpoint with its outbox rows and their attempts. */
  async deleteEndpoint(appId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const doomed = tx.selectFrom('webhook_deliveries').select('id').where('app_id', '=', appId).where('endpoint_id', '=', id);
      await tx.deleteFrom('webhook_attempts').where('delivery_id', 'in', doomed).execute();
      await tx.deleteFrom('webhook_deliveries').where('app_id', '=', appId).where('endpoint_id', '=', id).execute();
      const r = await tx.deleteFrom('webhook_endpoints').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Writes outbox rows (one statement: all of an event's rows or none). */
  async enqueue(rows: DeliveryRow[]): Promise<void> {
    if (rows.length > 0) await this.db.insertInto('webhook_deliveries').values(await sealColumns(this.sealer, rows, DELIVERY_SEALED, deliveryId)).execute();
  }

  /** Outbox rows sealed for insertSealed: done before the caller's transaction, which then only inserts. */
  async sealRows(rows: DeliveryRow[]): Promise<DeliveryRow[]> {
    return rows.length ? sealColumns(this.sealer, rows, DELIVERY_SEALED, deliveryId) : [];
  }

  /** Writes rows from sealRows with the caller's transaction handle: they commit with the caller's change or not at all. */
  async insertSealed(rows: DeliveryRow[], tx: Kysely<any>): Promise<void> {
    if (rows.length > 0) await (tx as Kysely<Tables>).insertInto('webhook_deliveries').values(rows).execute();
  }

  async countPending(appId: string, endpointId: string): Promise<number> {
    const r = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('app_id', '=', appId)
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /**
   * Pending rows that are due and not held by a live claim, oldest first, of
   * enabled endpoints, skipping the endpoints this node has no room for.
   */
  async due(now: number, limit: number, skipEndpoints: readonly string[]): Promise<DeliveryRow[]> {
    let q = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', (j) => j.onRef('e.app_id', '=', 'd.app_id').onRef('e.id', '=', 'd.endpoint_id'))
      .selectAll('d')
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      // A disabled endpoint's rows wait; its test events (the console's button) still go.
      .where((eb) => eb.or([eb('e.enabled', '=', 1), eb('d.event_type', '=', 'webhook.test')]))
      .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', now)]));
    if (skipEndpoints.length > 0) q = q.where('d.endpoint_id', 'not in', skipEndpoints);
    return this.opened(await q.orderBy('d.next_attempt_at').orderBy('d.id').limit(limit).execute());
  }

  /**
   * Takes the row for `owner` until `until` when it is still pending and no
   * live claim holds it: one conditional UPDATE, so of two nodes racing for a
   * row exactly one gets it.
   */
  async claim(id: string, owner: string, now: number, until: number): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_deliveries')
      .set({ claimed_by: owner, claimed_until: until })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Moves the row on and records the attempt, if `owner` still holds it; false
   * when the claim was lost (nothing written). Two statements, not a
   * transaction: a crash between them loses one line of the log, never a
   * delivery, and the send path shares the database with this.
   */
  async finishAttempt(id: string, owner: string, attempt: AttemptRow, outcome: AttemptOutcome): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: outcome.status,
        attempts: attempt.attempt,
        next_attempt_at: outcome.status === 'pending' ? outcome.next_attempt_at : null,
        delivered_at: outcome.status === 'delivered' ? outcome.at : null,
        claimed_by: null,
        claimed_until: null,
      })
      .where('id', '=', id)
      .where('claimed_by', '=', owner)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await this.db.insertInto('webhook_attempts').values(attempt).execute();
    return true;
  }

  /** Gives a claimed row back untouched (the node is stopping mid-attempt): another node or the next start tries it. */
  async release(id: string, owner: string): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set({ claimed_by: null, claimed_until: null }).where('id', '=', id).where('claimed_by', '=', owner).execute();
  }

  async getDelivery(appId: string, id: string): Promise<DeliveryRow | undefined> {
    const row = await this.db.selectFrom('webhook_deliveries').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && (await this.opened([row]))[0];
  }

  /** An endpoint's deliveries, newest first; `before` is the created_at of the last row of the previous page. */
  async listDeliveries(appId: string, endpointId: string, page: { limit: number; before?: number }): Promise<DeliveryRow[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('app_id', '=', appId).where('endpoint_id', '=', endpointId);
    if (page.before !== undefined) q = q.where('created_at', '<', page.before);
    return this.opened(await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute());
  }

  private opened(rows: DeliveryRow[]): Promise<DeliveryRow[]> {
    return openColumns(this.sealer, rows, DELIVERY_SEALED, deliveryId);
  }

  /**
   * An app's deliveries whose event body names `userId` (as a JSON string:
   * sender, customer, assignee…), any status: what a user's export shows and
   * their erasure removes. Bodies may be sealed, so they are opened and
   * matched here, a page at a time, not in SQL.
   */
  async deliveriesNaming(appId: string, userId: string): Promise<DeliveryRow[]> {
    const needle = JSON.stringify(userId);
    const out: DeliveryRow[] = [];
    for (let after = ''; ;) {
      const page = await this.db.selectFrom('webhook_deliveries').selectAll().where('app_id', '=', appId).where('id', '>', after).orderBy('id').limit(500).execute();
      if (page.length === 0) return out;
      for (const row of await this.opened(page)) if (row.body.includes(needle)) out.push(row);
      after = page[page.length - 1]!.id;
    }
  }

  /** Deletes these deliveries of the app with their attempts. */
  async deleteDeliveries(appId: string, ids: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const mine = this.db.selectFrom('webhook_deliveries').select('id').where('app_id', '=', appId).where('id', 'in', batch);
      await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', mine).execute();
      const r = await this.db.deleteFrom('webhook_deliveries').where('app_id', '=', appId).where('id', 'in', batch).executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }

  async attemptsOf(deliveryIds: readonly string[]): Promise<AttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    return this.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('delivery_id').orderBy('attempt').execute();
  }

  /** Deletes finished deliveries (and their attempts) created before `before`: the log is kept for a while, not for ever. */
  async prune(before: number, limit: number): Promise<number> {
    const old = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '!=', 'pending')
      .where('created_at', '<', before)
      .limit(limit)
      .execute();
    const ids = old.map((r) => r.id);
    if (ids.length === 0) return 0;
    await this.db.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
    await this.db.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
    return ids.length;
  }
}
