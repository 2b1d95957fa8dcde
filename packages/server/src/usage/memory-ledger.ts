// The ledger half of the Store port in memory, with the semantics the SQL
// adapters are held to (newest first, `since` inclusive, `until` exclusive,
// paging by (created_at, id)). Tests use it where a database would only slow
// them down, and it documents what the usage room expects of a real store.
import type { AiStore, LedgerFilter, LedgerRow } from '../store/index.ts';

export type LedgerStorePort = Pick<AiStore, 'appendLedger' | 'listLedger' | 'sumLedgerCost'>;

const newestFirst = (a: LedgerRow, b: LedgerRow) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class MemoryLedgerStore implements LedgerStorePort {
  readonly rows: LedgerRow[] = [];
  /** Appends to refuse before accepting again (to test the ledger's retries). */
  failNext = 0;
  appends = 0;

  async appendLedger(rows: LedgerRow[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('store unavailable');
    }
    this.appends += 1;
    this.rows.push(...rows.map((r) => ({ ...r })));
  }

  async listLedger(appId: string, filter: LedgerFilter): Promise<LedgerRow[]> {
    const b = filter.before;
    return this.rows
      .filter(
        (r) =>
          r.app_id === appId &&
          (filter.since === undefined || r.created_at >= filter.since) &&
          (filter.until === undefined || r.created_at < filter.until) &&
          (filter.agent_id === undefined || r.agent_id === filter.agent_id) &&
          (filter.key_id === undefined || r.key_id === filter.key_id) &&
          (filter.model === undefined || r.model === filter.model) &&
          (!b || r.created_at < b.created_at || (r.created_at === b.created_at && r.id < b.id)),
      )
      .sort(newestFirst)
      .slice(0, filter.limit);
  }

  async sumLedgerCost(appId: string, filter: { agent_id?: string; key_id?: string; since: number; until?: number }): Promise<{ currency: string; nanos: bigint }[]> {
    const sums = new Map<string, bigint>();
    for (const r of this.rows) {
      if (r.app_id !== appId || r.created_at < filter.since) continue;
      if (filter.until !== undefined && r.created_at >= filter.until) continue;
      if (filter.agent_id !== undefined && r.agent_id !== filter.agent_id) continue;
      if (filter.key_id !== undefined && r.key_id !== filter.key_id) continue;
      sums.set(r.currency, (sums.get(r.currency) ?? 0n) + r.cost_nanos);
    }
    return [...sums].map(([currency, nanos]) => ({ currency, nanos }));
  }
}
