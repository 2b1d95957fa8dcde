import { AgentList, SupportReport, type SupportGroupBy, type SupportReportRow } from '@warbler/protocol';
import { useState } from 'react';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { formatMoney } from './agent-budget.ts';
import { useLoad } from './useLoad.ts';

const DAY = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** Money per currency as the ledger keeps it (decimal strings), e.g. "$0.00021 · ¥0.0015". */
function money(byCurrency: Record<string, string>): string {
  const parts = Object.entries(byCurrency).map(([c, v]) => formatMoney(Number(v), c));
  return parts.length ? parts.join(' · ') : '—';
}

/**
 * Support outcomes (issue 11): how many conversations the AI resolved, how many went to a person
 * and why, ratings, times, and what each resolved conversation cost, from the ledger to the nano.
 */
export function SupportPage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const [fromDay, setFromDay] = useState(() => isoDay(Date.now() - 29 * DAY));
  const [toDay, setToDay] = useState(() => isoDay(Date.now()));
  const [by, setBy] = useState<SupportGroupBy>('day');
  const since = Date.parse(`${fromDay}T00:00:00Z`);
  const until = Date.parse(`${toDay}T00:00:00Z`) + DAY;

  const agents = useLoad(async () => {
    const list = await client.call('GET', '/api/agents', undefined, AgentList).catch(() => ({ agents: [] }));
    return new Map(list.agents.map((a) => [a.id, a.name] as const));
  }, [client]);
  const report = useLoad(() => client.call('GET', `/api/support/report?group_by=${by}&since=${since}&until=${until}`, undefined, SupportReport), [client, by, since, until]);

  const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);
  const minutes = (ms: number | null) => (ms === null ? '—' : ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`);
  const label = (key: string) => (by === 'agent' ? agents.data?.get(key) ?? key : by === 'handoff_reason' && key === 'none' ? t('support.noHandoff') : key);
  const row = (r: SupportReportRow, head: string, total = false) => (
    <tr key={head} data-key={r.key}>
      {total ? <th>{head}</th> : <td>{head}</td>}
      <td>{r.conversations}</td>
      <td>{r.resolved_by_ai} <span className="hint">({pct(r.ai_resolution_rate)})</span></td>
      <td>{r.resolved_by_human}</td>
      <td>{r.handed_off} <span className="hint">({pct(r.handoff_rate)})</span></td>
      <td>{r.csat_average === null ? '—' : `${r.csat_average.toFixed(1)} / 5`} <span className="hint">({r.csat_count})</span></td>
      <td>{minutes(r.median_first_response_ms)}</td>
      <td>{minutes(r.median_resolution_ms)}</td>
      <td>{money(r.cost)}</td>
      <td data-testid={total ? 'support-cost-per-resolved' : undefined}>{money(r.cost_per_resolved)}</td>
    </tr>
  );

  return (
    <section>
      <h1>{t('support.title')}</h1>
      <p className="hint">{t('support.intro')}</p>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); report.reload(); }}>
        <label className="field"><span>{t('usage.from')}</span><input type="date" value={fromDay} max={toDay} onChange={(e) => setFromDay(e.target.value)} /></label>
        <label className="field"><span>{t('usage.to')}</span><input type="date" value={toDay} min={fromDay} onChange={(e) => setToDay(e.target.value)} /></label>
        <label className="field">
          <span>{t('usage.by')}</span>
          <select value={by} onChange={(e) => setBy(e.target.value as SupportGroupBy)}>
            {(['day', 'agent', 'model', 'handoff_reason'] as const).map((g) => <option key={g} value={g}>{t(`support.by.${g}`)}</option>)}
          </select>
        </label>
        <button type="submit">{t('usage.refresh')}</button>
      </form>
      {report.error && <p className="error" role="alert">{t('console.error', { message: report.error })}</p>}
      {!report.data && !report.error && <p>{t('console.loading')}</p>}
      {report.data && (
        <div className="table-wrap">
          <table data-testid="support-report">
            <thead>
              <tr>
                <th>{t(`support.by.${by}`)}</th><th>{t('support.conversations')}</th><th>{t('support.byAi')}</th><th>{t('support.byHuman')}</th>
                <th>{t('support.handedOff')}</th><th>{t('support.csat')}</th><th>{t('support.firstResponse')}</th><th>{t('support.resolution')}</th>
                <th>{t('support.cost')}</th><th>{t('support.costPerResolved')}</th>
              </tr>
            </thead>
            <tbody>
              {report.data.groups.length === 0 && <tr><td colSpan={10} className="hint">{t('support.empty')}</td></tr>}
              {report.data.groups.map((r) => row(r, label(r.key)))}
            </tbody>
            <tfoot>{row(report.data.total, t('usage.total'), true)}</tfoot>
          </table>
        </div>
      )}
      <p className="hint">{t('support.note', { count: (report.data?.total.conversations ?? 0).toLocaleString(locale) })}</p>
    </section>
  );
}
