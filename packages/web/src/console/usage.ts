// Usage report shapes (GET /api/usage, /api/usage/calls) and what the
// console derives from them: chart series, latency per group, CSV.

import type { LedgerCall as ProtocolLedgerCall, UsageGroup, UsageGroupBy, UsageReport } from '@warbler/protocol';

export type GroupBy = UsageGroupBy;
export type { UsageGroup, UsageReport };

/** The fields of a ledger row (GET /api/usage/calls) the console groups and averages by. */
export type LedgerCall = Pick<ProtocolLedgerCall, 'id' | 'model' | 'upstream_model' | 'agent_id' | 'key_id' | 'purpose' | 'latency_ms' | 'created_at'>;

export interface UsageRow extends UsageGroup {
  avgLatencyMs: number | null;
}

/** The report's group key of a ledger call, the same way the server groups (days in UTC). */
export function callKey(call: LedgerCall, by: GroupBy): string | null {
  switch (by) {
    case 'day': return new Date(call.created_at).toISOString().slice(0, 10);
    case 'model': return call.upstream_model ?? call.model;
    case 'agent': return call.agent_id;
    case 'key': return call.key_id;
    case 'purpose': return call.purpose ?? null;
  }
}

/** Average latency per group key, from the calls that were fetched. */
export function latencyByKey(calls: readonly LedgerCall[], by: GroupBy): Map<string | null, number> {
  const sums = new Map<string | null, { total: number; n: number }>();
  for (const c of calls) {
    const k = callKey(c, by);
    const s = sums.get(k) ?? { total: 0, n: 0 };
    s.total += c.latency_ms;
    s.n += 1;
    sums.set(k, s);
  }
  return new Map([...sums].map(([k, s]) => [k, Math.round(s.total / s.n)]));
}

export function withLatency(groups: readonly UsageGroup[], latency: ReadonlyMap<string | null, number>): UsageRow[] {
  return groups.map((g) => ({ ...g, avgLatencyMs: latency.get(g.key) ?? null }));
}

/** Every day of [from, to) as YYYY-MM-DD (UTC), so a chart by day shows quiet days as zero. */
export function daysBetween(from: number, to: number): string[] {
  const out: string[] = [];
  const start = new Date(new Date(from).toISOString().slice(0, 10)).getTime();
  for (let t = start; t < to && out.length < 400; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export function tokensOf(g: UsageGroup): number {
  return g.promptTokens + g.completionTokens;
}

/** RFC 4180: quote fields with commas, quotes or line breaks; a leading = + - @ is defused so spreadsheets do not run it. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly UsageRow[], by: GroupBy): string {
  const head = [by, 'calls', 'failed', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'reasoning_tokens', 'cost_usd', 'cost_by_currency', 'avg_latency_ms'];
  const lines = rows.map((r) => [
    r.key, r.attempts, r.failed, r.promptTokens, r.cachedTokens, r.completionTokens, r.reasoningTokens, r.costUsd.toFixed(6),
    Object.entries(r.cost).map(([c, a]) => `${a} ${c}`).join('; '), r.avgLatencyMs,
  ].map(csvField).join(','));
  return [head.join(','), ...lines].join('\r\n') + '\r\n';
}

/** 1, 2 or 5 times a power of ten at or above n, so the axis reads in round numbers. */
export function niceCeiling(n: number): number {
  if (n <= 0) return 0;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * power >= n) return m * power;
  return 10 * power;
}

/**
 * Round ticks for an axis up to at least `max`: a step of 1, 2 or 5 times a
 * power of ten, about four of them (0, 10, 20, 30, 40 — never 0, 1.25, 2.5).
 */
export function axisTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const step = niceCeiling(max / 4);
  const count = Math.max(1, Math.ceil(max / step - 1e-9));
  // Multiplying by integers and rounding to the step's digits keeps 0.1 + 0.2 from showing as 0.30000000000000004.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toFixed(digits)));
}
