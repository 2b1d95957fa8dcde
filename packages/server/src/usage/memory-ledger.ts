// The ledger half of the Store port in memory, with the semantics the SQL
// adapters are held to (newest first, `since` inclusive, `until` exclusive,
// paging by (created_at, id)). Tests use it where a database would only slow
// them down, and it documents what the usage room expects of a real store.
import type { AiStore, LedgerFilter, LedgerRow } from '../store/index.ts';

export type LedgerStorePort = Pick<AiStore, 'appendLedger' | 'listLedger' | 'sumLedgerCost'>;

const newestFirst = (a: LedgerRow, b: LedgerRow) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class MemoryLedgerStore implements LedgerStorePort {
  readonly rows: LedgerRow[] = [];
  private readonly index = new Map<string, number>();
  /** Appends to refuse before accepting again (to test the ledger's retries). */
  failNext = 0;
  appends = 0;

  async appendLedger(rows: LedgerRow[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('store unavailable');
    }
    this.appends += 1;
    for (const r of rows) {
      // An attempt's settled row replaces its open one (same id).
      const key = `${r.app_id}\u0000${r.id}`;
      const at = this.index.get(key);
      if (at !== undefined) {
        // As the SQL stores: only an open (or interrupted) row is replaced; any other duplicate id is a conflict.
        if (this.rows[at]!.outcome !== 'pending' && this.rows[at]!.outcome !== 'interrupted') throw new Error(`ledger row ${r.id} already exists`);
        this.rows[at] = { ...r };
      } else this.index.set(key, this.rows.push({ ...r }) - 1);
    }
  }

  async listInFlightLedger(limit: number): Promise<LedgerRow[]> {
    return this.rows
      .filter((r) => r.outcome === 'pending')
      .sort((a, b) => a.created_at - b.created_at)
      .slice(0, limit)
      .map((r) => ({ ...r }));
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
      if (r.app_id !== appId || r.created_at < filter.since || r.outcome === 'pending') continue;
      if (filter.until !== undefined && r.created_at >= filter.until) continue;
      if (filter.agent_id !== undefined && r.agent_id !== filter.agent_id) continue;
      if (filter.key_id !== undefined && r.key_id !== filter.key_id) continue;
      sums.set(r.currency, (sums.get(r.currency) ?? 0n) + r.cost_nanos);
    }
    return [...sums].map(([currency, nanos]) => ({ currency, nanos }));
  }
}
