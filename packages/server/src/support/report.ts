import type { SupportReportRow } from '@warbler/protocol';
import { badRequest } from '../errors.ts';
import { formatNanoAmount } from '../usage/index.ts';
import type { SupportRow, SupportStore } from './support-store.ts';

export type SupportGroupBy = 'day' | 'agent' | 'model' | 'handoff_reason';

/** Most conversations one report reads; a longer window is refused with what to do. */
const MAX_CONVERSATIONS = 50_000;
const DAY = 86_400_000;

/**
 * Support outcomes over conversations created in [since, until): AI
 * resolution and handoff rates, CSAT, median times, and what each resolved
 * conversation cost (every ledger row of the conversation, copilot included).
 * A conversation handed off for two reasons counts once under each reason.
 */
export async function supportReport(
  store: SupportStore, appId: string, query: { since?: number; until?: number; group_by: SupportGroupBy }, now = Date.now(),
): Promise<{ since: number; until: number; group_by: SupportGroupBy; total: SupportReportRow; groups: SupportReportRow[] }> {
  const until = query.until ?? now;
  const since = query.since ?? until - 30 * DAY;
  if (since >= until) throw badRequest('since must be before until (milliseconds since the epoch).');
  const rows = await store.created(appId, since, until, MAX_CONVERSATIONS + 1);
  if (rows.length > MAX_CONVERSATIONS) throw badRequest(`More than ${MAX_CONVERSATIONS} conversations in this window: ask for a shorter one.`);
  const ids = rows.map((r) => r.conversation_id);
  const [costs, models, events] = await Promise.all([store.cost(appId, ids), store.models(appId, ids), store.events(appId, ids)]);
  const reasons = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== 'handoff' || !e.reason) continue;
    const set = reasons.get(e.conversation_id) ?? new Set<string>();
    set.add(e.reason);
    reasons.set(e.conversation_id, set);
  }
  const keysOf = (row: SupportRow): string[] => {
    switch (query.group_by) {
      case 'day': return [new Date(row.created_at).toISOString().slice(0, 10)];
      case 'agent': return [row.agent_id];
      case 'model': return [models.get(row.conversation_id) ?? 'none'];
      case 'handoff_reason': return [...(reasons.get(row.conversation_id) ?? new Set(['none']))];
    }
  };
  const groups = new Map<string, SupportRow[]>();
  for (const row of rows) {
    for (const key of keysOf(row)) {
      const list = groups.get(key) ?? [];
      list.push(row);
      groups.set(key, list);
    }
  }
  const figures = (key: string, list: SupportRow[]) => summarize(key, list, costs);
  return {
    since, until, group_by: query.group_by,
    total: figures('total', rows),
    groups: [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, list]) => figures(key, list)),
  };
}

function summarize(key: string, rows: SupportRow[], costs: Map<string, Map<string, bigint>>): SupportReportRow {
  const byAi = rows.filter((r) => r.outcome === 'resolved_by_ai').length;
  const byHuman = rows.filter((r) => r.outcome === 'resolved_by_human').length;
  const resolved = byAi + byHuman;
  const rated = rows.filter((r) => r.csat_rating !== null);
  const total = new Map<string, bigint>();
  for (const r of rows) for (const [currency, nanos] of costs.get(r.conversation_id) ?? []) total.set(currency, (total.get(currency) ?? 0n) + nanos);
  const money = (per: (n: bigint) => bigint) => Object.fromEntries([...total].map(([c, n]) => [c, formatNanoAmount(per(n))]));
  return {
    key,
    conversations: rows.length,
    resolved,
    resolved_by_ai: byAi,
    resolved_by_human: byHuman,
    handed_off: rows.filter((r) => r.handoffs > 0).length,
    ai_resolution_rate: rows.length ? byAi / rows.length : null,
    handoff_rate: rows.length ? rows.filter((r) => r.handoffs > 0).length / rows.length : null,
    csat_average: rated.length ? rated.reduce((s, r) => s + (r.csat_rating ?? 0), 0) / rated.length : null,
    csat_count: rated.length,
    median_first_response_ms: median(rows.flatMap((r) => (r.first_customer_at !== null && r.first_response_at !== null ? [Math.max(0, r.first_response_at - r.first_customer_at)] : []))),
    median_resolution_ms: median(rows.flatMap((r) => (r.resolved_at !== null && r.outcome?.startsWith('resolved') ? [r.resolved_at - r.created_at] : []))),
    cost: money((n) => n),
    cost_per_resolved: resolved ? money((n) => n / BigInt(resolved)) : {},
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
