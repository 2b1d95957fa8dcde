import { randomUUID } from 'node:crypto';
import type { DomainEvents } from '../events/index.ts';
import { entryHash, GENESIS_HASH, verifyChain, type ChainBreak } from './chain.ts';
import { maskForAudit } from './mask.ts';
import type { AuditFilter, AuditRow, AuditStore } from './audit-store.ts';

/** Who did it: the operator's master key, an app's secret (its backend or admin), a user's token, or Warbler itself (retention). */
export type AuditActorKind = 'master_key' | 'app_secret' | 'user' | 'system';

export interface AuditAction {
  appId: string;
  actor: { kind: AuditActorKind; id?: string | null };
  /** Where the request came from. */
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** resource.verb, e.g. agent.update, provider.create, user.erase */
  action: string;
  resource: string;
  resourceId?: string | null;
  /** What the thing looked like before and after; masked here, whatever the caller passes. */
  before?: unknown;
  after?: unknown;
}

export interface AuditVerification {
  app_id: string;
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  broken?: ChainBreak;
}

const PAGE = 500;
const MAX_RETRIES = 5;

/**
 * The append-only audit log: one hash chain per app. Appends of one app are
 * serialised on this node; two nodes racing for the same seq collide on the
 * primary key and the loser re-reads the head and tries again.
 */
export class AuditLog {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: AuditStore,
    private readonly events?: DomainEvents,
  ) {}

  async record(action: AuditAction): Promise<AuditRow> {
    const row = await this.serial(action.appId, () => this.append(action));
    await this.events?.emit({ type: 'audit.recorded', appId: row.app_id, at: row.at, data: publicEntry(row) });
    return row;
  }

  list(appId: string, filter: AuditFilter): Promise<AuditRow[]> {
    return this.store.list(appId, filter);
  }

  /** Every entry of the app in seq order, page by page (for the JSONL export). */
  async *entries(appId: string): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const page = await this.store.range(appId, after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }

  /** Recomputes the app's chain from the start: the first row whose content or links were changed (or that went missing) is reported. */
  async verify(appId: string): Promise<AuditVerification> {
    let head = { seq: 0, hash: GENESIS_HASH };
    let entries = 0;
    for (;;) {
      const page = await this.store.range(appId, head.seq, PAGE);
      const result = verifyChain(page, head);
      entries += result.checked;
      if (result.broken) return { app_id: appId, ok: false, entries, head: result.last, broken: result.broken };
      head = result.last;
      if (page.length < PAGE) return { app_id: appId, ok: true, entries, head };
    }
  }

  private async append(action: AuditAction): Promise<AuditRow> {
    for (let attempt = 0; ; attempt++) {
      const last = (await this.store.last(action.appId)) ?? { seq: 0, hash: GENESIS_HASH };
      const content = {
        app_id: action.appId,
        seq: last.seq + 1,
        id: `aud_${randomUUID().replaceAll('-', '')}`,
        at: Date.now(),
        actor_kind: action.actor.kind,
        actor_id: action.actor.id ?? null,
        ip: action.ip ?? null,
        user_agent: action.userAgent?.slice(0, 512) ?? null,
        action: action.action,
        resource: action.resource,
        resource_id: action.resourceId ?? null,
        before: action.before === undefined ? null : JSON.stringify(maskForAudit(action.before)),
        after: action.after === undefined ? null : JSON.stringify(maskForAudit(action.after)),
        request_id: action.requestId ?? null,
      };
      const row: AuditRow = { ...content, prev_hash: last.hash, hash: entryHash(last.hash, content) };
      try {
        await this.store.insert(row);
        return row;
      } catch (err) {
        // Another node took this seq: read the new head and chain onto it.
        if (attempt >= MAX_RETRIES || (await this.store.last(action.appId))?.seq === last.seq) throw err;
      }
    }
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** An entry as the API, the export and webhooks show it: before/after parsed back to JSON. */
export function publicEntry(row: AuditRow): Record<string, unknown> {
  return {
    id: row.id, app_id: row.app_id, seq: row.seq, at: row.at,
    actor: { kind: row.actor_kind, id: row.actor_id }, ip: row.ip, user_agent: row.user_agent,
    action: row.action, resource: row.resource, resource_id: row.resource_id,
    before: row.before === null ? null : parse(row.before), after: row.after === null ? null : parse(row.after),
    request_id: row.request_id, prev_hash: row.prev_hash, hash: row.hash,
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A row edited by hand may hold anything; show it as it is (verify will say it was changed).
    return text;
  }
}
