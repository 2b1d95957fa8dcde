// At start-up, before any new call: rows still 'pending' belong to calls the
// last run never finished (kill -9, power loss, a shutdown past its grace).
// Each is settled in place as 'interrupted', with the prompt estimate it was
// opened with and the output known to have reached the caller, counted with
// o200k and flagged as estimated (docs/costs.md).
import { countTextTokens, type PriceTable } from '../llm/index.ts';
import type { AiStore, LedgerRow } from '../store/index.ts';
import { interruptedRow } from './policy.ts';

export interface InterruptedCallsOptions {
  store: Pick<AiStore, 'listInFlightLedger' | 'appendLedger'>;
  prices: PriceTable;
  /** The text the caller had received when the call was cut, where it was kept (an agent reply's stored text). */
  deliveredText?: (row: LedgerRow) => Promise<string | undefined>;
  /** Rows per page. Default 100. */
  pageSize?: number;
}

export const INTERRUPTED_BY_RESTART = 'interrupted: the server stopped during this call (crash or restart); tokens are estimated from what was delivered';
export const INTERRUPTED_BY_SHUTDOWN = 'interrupted: the shutdown grace ran out during this call; tokens are the prompt estimate';

/**
 * Settles every row a previous run left in flight. Run it once at start-up,
 * before the node makes calls of its own: with several nodes on one database
 * it would also settle rows of calls another node is still running (that
 * node's own settlement then replaces the row, so the final row is right).
 */
export async function settleInterruptedCalls(options: InterruptedCallsOptions): Promise<number> {
  const pageSize = options.pageSize ?? 100;
  let settled = 0;
  for (;;) {
    const open = await options.store.listInFlightLedger(pageSize);
    if (open.length === 0) return settled;
    const rows: LedgerRow[] = [];
    for (const row of open) {
      const text = await delivered(options, row);
      // created_at stays when the call started: the cost belongs to that month, and the call never ended.
      rows.push(interruptedRow(row, { completionTokens: text ? countTextTokens(text) : 0, createdAt: row.created_at, prices: options.prices, reason: INTERRUPTED_BY_RESTART }));
    }
    await options.store.appendLedger(rows);
    settled += rows.length;
  }
}

async function delivered(options: InterruptedCallsOptions, row: LedgerRow): Promise<string | undefined> {
  if (!options.deliveredText) return undefined;
  try {
    return await options.deliveredText(row);
  } catch {
    // The message may be gone (its conversation deleted); the prompt estimate still stands.
    return undefined;
  }
}
