import { AgentList, GatewayKeyList, UsageCalls, UsageReport } from '@warbler/protocol';
import { useMemo, useState } from 'react';
import { useI18n } from '../ui/i18n.tsx';
import { BarChart } from './charts.tsx';
import type { ConsoleApi } from './client.ts';
import { daysBetween, latencyByKey, toCsv, tokensOf, withLatency, type GroupBy, type LedgerCall, type UsageRow } from './usage.ts';
import { formatMoney } from './agent-budget.ts';
import { useLoad } from './useLoad.ts';

const DAY = 86_400_000;
/** Ledger rows read to average latency per group; the report itself has no latency. */
const MAX_CALLS = 2_000;
const METRICS = ['cost', 'tokens', 'calls', 'errors', 'latency'] as const;
type Metric = (typeof METRICS)[number];

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

async function loadCalls(client: ConsoleApi, from: number, to: number): Promise<LedgerCall[]> {
  const out: LedgerCall[] = [];
  let cursor = '';
  while (out.length < MAX_CALLS) {
    const page = await client.call('GET', `/api/usage/calls?limit=500&from=${from}&to=${to}${cursor}`, undefined, UsageCalls);
    out.push(...page.calls);
    const last = page.calls.at(-1);
    if (page.calls.length < 500 || !last) break;
    cursor = `&before_created_at=${last.created_at}&before_id=${encodeURIComponent(last.id)}`;
  }
  return out;
}

/** Usage and cost from the ledger: a chart and a table by day, model, agent or key, over a date range, exportable as CSV. */
export function UsagePage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const [fromDay, setFromDay] = useState(() => isoDay(Date.now() - 29 * DAY));
  const [toDay, setToDay] = useState(() => isoDay(Date.now()));
  const [by, setBy] = useState<GroupBy>('day');
  const [metric, setMetric] = useState<Metric>('cost');
  const from = Date.parse(`${fromDay}T00:00:00Z`);
  const to = Date.parse(`${toDay}T00:00:00Z`) + DAY;
  const valid = Number.isFinite(from) && Number.isFinite(to) && from < to;

  const report = useLoad(async () => {
    if (!valid) throw new Error(`${t('usage.from')} < ${t('usage.to')}`);
    const [r, calls] = await Promise.all([
      client.call('GET', `/api/usage?group_by=${by}&from=${from}&to=${to}`, undefined, UsageReport),
      loadCalls(client, from, to),
    ]);
    return { report: r, rows: withLatency(r.groups, latencyByKey(calls, by)), total: { ...r.total, avgLatencyMs: calls.length ? avg(calls) : null } };
  }, [client, by, from, to]);

  const names = useLoad(async () => {
    const [agents, keys] = await Promise.all([
      client.call('GET', '/api/agents', undefined, AgentList).catch(() => ({ agents: [] })),
      client.call('GET', '/api/gateway/keys', undefined, GatewayKeyList).catch(() => ({ keys: [] })),
    ]);
    return new Map([...agents.agents, ...keys.keys].map((x) => [x.id, x.name] as const));
  }, [client]);

  const rows: UsageRow[] = useMemo(() => {
    const data = report.data?.rows ?? [];
    if (by !== 'day' || !report.data) return data;
    const byDay = new Map(data.map((r) => [r.key, r]));
    return daysBetween(from, to).map((day) => byDay.get(day) ?? { key: day, attempts: 0, failed: 0, inFlight: 0, estimated: 0, outcomes: {}, promptTokens: 0, cachedTokens: 0, completionTokens: 0, reasoningTokens: 0, cost: {}, costUsd: 0, avgLatencyMs: null });
  }, [report.data, by, from, to]);

  const value = (r: UsageRow): number => {
    switch (metric) {
      case 'cost': return r.costUsd;
      case 'tokens': return tokensOf(r);
      case 'calls': return r.attempts;
      case 'errors': return r.failed;
      case 'latency': return r.avgLatencyMs ?? 0;
    }
  };
  const format = (n: number) => (metric === 'cost' ? formatMoney(n, 'USD') : Math.round(n).toLocaleString(locale));
  const metricLabel: Record<Metric, string> = { cost: t('usage.cost'), tokens: t('usage.tokens'), calls: t('usage.calls'), errors: t('usage.errors'), latency: t('usage.latency') };
  // Agents and keys by their names (ids only for ones since deleted).
  const label = (k: string | null) => (k === null ? t('usage.none') : (by === 'agent' || by === 'key' ? names.data?.get(k) : undefined) ?? k);

  const exportCsv = () => {
    const blob = new Blob([toCsv(rows, by)], { type: 'text/csv;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `warbler-usage-${by}-${fromDay}-${toDay}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1_000);
  };

  return (
    <section>
      <h1>{t('usage.title')}</h1>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); report.reload(); }}>
        <label className="field"><span>{t('usage.from')}</span><input type="date" value={fromDay} max={toDay} onChange={(e) => setFromDay(e.target.value)} /></label>
        <label className="field"><span>{t('usage.to')}</span><input type="date" value={toDay} min={fromDay} onChange={(e) => setToDay(e.target.value)} /></label>
        <label className="field">
          <span>{t('usage.by')}</span>
          <select value={by} onChange={(e) => setBy(e.target.value as GroupBy)}>
            {(['day', 'model', 'agent', 'key', 'purpose'] as const).map((g) => <option key={g} value={g}>{t(`usage.by.${g}`)}</option>)}
          </select>
        </label>
        <fieldset className="field metric">
          <legend className="sr-only">{t('usage.title')}</legend>
          {METRICS.map((m) => (
            <label key={m} className="check"><input type="radio" name="metric" checked={metric === m} onChange={() => setMetric(m)} /> {metricLabel[m]}</label>
          ))}
        </fieldset>
        <button type="submit">{t('usage.refresh')}</button>
        <button type="button" onClick={exportCsv} disabled={!report.data}>{t('usage.export')}</button>
      </form>
      {report.error && <p className="error" role="alert">{t('console.error', { message: report.error })}</p>}
      {!report.data && !report.error && <p>{t('console.loading')}</p>}
      {report.data && (
        <>
          <BarChart title={`${metricLabel[metric]} · ${t(`usage.by.${by}`)}`} data={rows.map((r) => ({ label: label(r.key), value: value(r) }))} format={format} />
          <div className="table-wrap">
            <table data-testid="usage-table">
              <thead>
                <tr>
                  <th>{t(`usage.by.${by}`)}</th><th>{t('usage.calls')}</th><th>{t('usage.errors')}</th><th>{t('usage.tokens')}</th>
                  <th>{t('usage.cost')}</th><th>{t('usage.latency')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.filter((r) => by !== 'day' || r.attempts > 0).map((r) => (
                  <tr key={r.key ?? '(none)'}>
                    <td>{label(r.key)}</td><td>{r.attempts}</td><td>{r.failed}</td>
                    <td>{tokensOf(r).toLocaleString(locale)} <span className="hint">({r.promptTokens} + {r.completionTokens})</span></td>
                    <td>{formatMoney(r.costUsd, 'USD')} <span className="hint">{otherCurrencies(r.cost)}</span></td>
                    <td>{r.avgLatencyMs ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th>{t('usage.total')}</th><td>{report.data.report.total.attempts}</td><td>{report.data.report.total.failed}</td>
                  <td>{tokensOf(report.data.report.total).toLocaleString(locale)}</td><td>{formatMoney(report.data.report.total.costUsd, 'USD')}</td>
                  <td>{report.data.total.avgLatencyMs ?? '—'}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function avg(calls: readonly LedgerCall[]): number {
  return calls.length ? Math.round(calls.reduce((s, c) => s + c.latency_ms, 0) / calls.length) : 0;
}

/** Amounts billed in other currencies than USD (Doubao and Qwen bill in CNY), beside their USD value. */
function otherCurrencies(cost: Record<string, string | number>): string {
  return Object.entries(cost)
    .filter(([currency]) => currency.toUpperCase() !== 'USD')
    .map(([currency, amount]) => formatMoney(Number(amount), currency))
    .join(', ');
}
