import type { Kysely } from 'kysely';
import type { WebSourceCreate, WebSourceRun } from '@warbler/protocol';

export type WebSourceStatus = 'queued' | 'running' | 'idle' | 'failed';
export type WebSourceSettings = Pick<WebSourceCreate, 'mode' | 'max_pages' | 'max_depth' | 'resync_hours'>;

export interface WebSourceRow {
  app_id: string;
  id: string;
  kb_id: string;
  url: string;
  settings: WebSourceSettings;
  status: WebSourceStatus;
  reason: string | null;
  last_run: WebSourceRun | null;
  next_run_at: number | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

/** A page a source read, with what it takes to ask for it again conditionally and to crawl on without its body. */
export interface WebPageRow {
  url: string;
  etag: string | null;
  last_modified: string | null;
  content_hash: string;
  /** Same-origin links the page had, for a crawl that gets 304 Not Modified and so no body to read them from. */
  links: string[];
}

/** The web sources' tables (kb_web_sources, kb_web_pages) behind a narrow interface. */
export class WebSourceStore {
  constructor(private readonly db: Kysely<any>) {}

  async insert(row: WebSourceRow): Promise<void> {
    await this.db.insertInto('kb_web_sources').values(toDb(row)).execute();
  }

  async get(appId: string, id: string): Promise<WebSourceRow | undefined> {
    const row = await this.db.selectFrom('kb_web_sources').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row ? fromDb(row) : undefined;
  }

  async list(appId: string, kbId: string): Promise<WebSourceRow[]> {
    const rows = await this.db.selectFrom('kb_web_sources').selectAll().where('app_id', '=', appId).where('kb_id', '=', kbId).orderBy('created_at').orderBy('id').execute();
    return rows.map(fromDb);
  }

  async count(appId: string, kbId: string): Promise<number> {
    const row = await this.db.selectFrom('kb_web_sources').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', appId).where('kb_id', '=', kbId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Sources a node may run now: asked for, due, or running under a lease that ran out (its node died). */
  async due(now: number, limit: number): Promise<{ app_id: string; id: string }[]> {
    return this.db.selectFrom('kb_web_sources').select(['app_id', 'id'])
      .where((eb) => eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', 'in', ['idle', 'failed']), eb('next_run_at', 'is not', null), eb('next_run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
      ]))
      .orderBy('updated_at').limit(limit).execute();
  }

  /** Takes a run for this node; undefined when another node took it first or it is no longer due. */
  async claim(appId: string, id: string, now: number, leaseMs: number): Promise<WebSourceRow | undefined> {
    const r = await this.db.updateTable('kb_web_sources')
      .set({ status: 'running', lease_until: now + leaseMs, reason: null, updated_at: now })
      .where('app_id', '=', appId).where('id', '=', id)
      .where((eb) => eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', 'in', ['idle', 'failed']), eb('next_run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
      ]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? this.get(appId, id) : undefined;
  }

  /** Keeps this node's lease on a long run. */
  async renew(appId: string, id: string, until: number): Promise<void> {
    await this.db.updateTable('kb_web_sources').set({ lease_until: until }).where('app_id', '=', appId).where('id', '=', id).where('status', '=', 'running').execute();
  }

  async finish(appId: string, id: string, patch: { status: WebSourceStatus; reason: string | null; last_run?: WebSourceRun; next_run_at: number | null; updated_at: number }): Promise<void> {
    await this.db.updateTable('kb_web_sources')
      .set({ ...patch, lease_until: null, ...(patch.last_run && { last_run: JSON.stringify(patch.last_run) }) })
      .where('app_id', '=', appId).where('id', '=', id).execute();
  }

  /** Asks for a run now; false while one is running. */
  async requeue(appId: string, id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('kb_web_sources').set({ status: 'queued', reason: null, updated_at: now })
      .where('app_id', '=', appId).where('id', '=', id).where('status', '!=', 'running').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(appId: string, id: string): Promise<void> {
    await this.db.deleteFrom('kb_web_pages').where('app_id', '=', appId).where('source_id', '=', id).execute();
    await this.db.deleteFrom('kb_web_sources').where('app_id', '=', appId).where('id', '=', id).execute();
  }

  async pages(appId: string, sourceId: string): Promise<Map<string, WebPageRow>> {
    const rows = await this.db.selectFrom('kb_web_pages').select(['url', 'etag', 'last_modified', 'content_hash', 'links'])
      .where('app_id', '=', appId).where('source_id', '=', sourceId).execute();
    return new Map(rows.map((r) => [r.url as string, { ...r, links: JSON.parse(r.links as string) as string[] } as WebPageRow]));
  }

  async pageCounts(appId: string, sourceIds: string[]): Promise<Map<string, number>> {
    if (sourceIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('kb_web_pages').select(['source_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('app_id', '=', appId).where('source_id', 'in', sourceIds).groupBy('source_id').execute();
    return new Map(rows.map((r) => [r.source_id as string, Number(r.n)]));
  }

  async putPage(appId: string, sourceId: string, page: WebPageRow, now: number): Promise<void> {
    const values = { etag: page.etag, last_modified: page.last_modified, content_hash: page.content_hash, links: JSON.stringify(page.links), updated_at: now };
    await this.db.insertInto('kb_web_pages').values({ app_id: appId, source_id: sourceId, url: page.url, ...values })
      .onConflict((oc) => oc.columns(['app_id', 'source_id', 'url']).doUpdateSet(values)).execute();
  }

  async deletePage(appId: string, sourceId: string, url: string): Promise<void> {
    await this.db.deleteFrom('kb_web_pages').where('app_id', '=', appId).where('source_id', '=', sourceId).where('url', '=', url).execute();
  }
}

function toDb(row: WebSourceRow): Record<string, unknown> {
  return { ...row, settings: JSON.stringify(row.settings), last_run: row.last_run ? JSON.stringify(row.last_run) : null };
}

function fromDb(row: Record<string, unknown>): WebSourceRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    app_id: row.app_id as string, id: row.id as string, kb_id: row.kb_id as string, url: row.url as string,
    settings: JSON.parse(row.settings as string) as WebSourceSettings,
    status: row.status as WebSourceStatus, reason: (row.reason as string | null) ?? null,
    last_run: row.last_run ? (JSON.parse(row.last_run as string) as WebSourceRun) : null,
    next_run_at: n(row.next_run_at), lease_until: n(row.lease_until), created_at: Number(row.created_at), updated_at: Number(row.updated_at),
  };
}
