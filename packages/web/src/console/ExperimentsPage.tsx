import { AgentList, Experiment, ExperimentList, SwitchingReport, type CandidateReport, type ExperimentCreate, type MetricComparison } from '@warbler/protocol';
import { useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

interface Form {
  agentId: string;
  name: string;
  mode: 'shadow' | 'ab';
  models: string;
  sampleRate: string;
  budget: string;
  judge: string;
  effect: string;
  perMinute: string;
}

const empty: Form = { agentId: '', name: '', mode: 'shadow', models: '', sampleRate: '0.1', budget: '5', judge: '', effect: '0.05', perMinute: '60' };
const path = (id: string) => `/api/experiments/${encodeURIComponent(id)}`;

function body(f: Form): ExperimentCreate {
  const models = f.models.split(',').map((m) => m.trim()).filter(Boolean);
  const share = f.mode === 'ab' ? Math.floor((0.5 / Math.max(1, models.length)) * 100) / 100 : 1;
  return {
    agent_id: f.agentId, name: f.name.trim(), mode: f.mode, candidates: models.map((model) => ({ model, share })),
    sample_rate: Number(f.sampleRate), daily_budget_usd: Number(f.budget), min_detectable_effect: Number(f.effect), max_turns_per_minute: Number(f.perMinute), ...(f.judge.trim() && { judge_model: f.judge.trim() }),
  };
}

/** Model experiments: shadow runs and A/B splits per agent, and the switching report of each. */
export function ExperimentsPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const agents = useLoad(() => client.call('GET', '/api/agents', undefined, AgentList), [client]);
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/experiments', undefined, ExperimentList), [client]);
  const [form, setForm] = useState<Form>(empty);
  const [problem, setProblem] = useState<string>();
  const [open, setOpen] = useState<string>();
  const agentName = (id: string) => agents.data?.agents.find((a) => a.id === id)?.name ?? id;

  const act = async (work: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await work();
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const created = await client.call('POST', '/api/experiments', body(form), Experiment);
      setForm({ ...empty, agentId: form.agentId });
      setOpen(created.id);
    });
  };

  return (
    <section className="experiments">
      <h1>{t('experiments.title')}</h1>
      <p className="hint">{t('experiments.intro')}</p>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      <form className="card form-grid" onSubmit={create}>
        <h2>{t('experiments.new')}</h2>
        <label className="field">
          <span>{t('experiments.agent')}</span>
          <select value={form.agentId} onChange={(e) => setForm({ ...form, agentId: e.target.value })} required>
            <option value="">{t('experiments.pickAgent')}</option>
            {agents.data?.agents.map((a) => <option key={a.id} value={a.id}>{a.name} ({a.model})</option>)}
          </select>
        </label>
        <label className="field">
          <span>{t('experiments.name')}</span>
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required maxLength={80} />
        </label>
        <label className="field">
          <span>{t('experiments.mode')}</span>
          <select value={form.mode} onChange={(e) => setForm({ ...form, mode: e.target.value as Form['mode'] })}>
            <option value="shadow">{t('experiments.mode.shadow')}</option>
            <option value="ab">{t('experiments.mode.ab')}</option>
          </select>
        </label>
        <label className="field">
          <span>{t('experiments.candidates')}</span>
          <input value={form.models} onChange={(e) => setForm({ ...form, models: e.target.value })} placeholder="qwen-turbo, deepseek-chat" required maxLength={400} />
          <span className="hint">{t('experiments.candidatesHint')}</span>
        </label>
        {form.mode === 'shadow' && (
          <label className="field">
            <span>{t('experiments.sampleRate')}</span>
            <input type="number" min={0} max={1} step={0.01} value={form.sampleRate} onChange={(e) => setForm({ ...form, sampleRate: e.target.value })} required />
          </label>
        )}
        {form.mode === 'shadow' && (
          <label className="field">
            <span>{t('experiments.perMinute')}</span>
            <input type="number" min={1} max={6000} step={1} value={form.perMinute} onChange={(e) => setForm({ ...form, perMinute: e.target.value })} required />
          </label>
        )}
        <label className="field">
          <span>{t('experiments.budget')}</span>
          <input type="number" min={0.01} step={0.01} value={form.budget} onChange={(e) => setForm({ ...form, budget: e.target.value })} required />
        </label>
        <label className="field">
          <span>{t('experiments.judge')}</span>
          <input value={form.judge} onChange={(e) => setForm({ ...form, judge: e.target.value })} placeholder="gpt-4o" maxLength={200} />
        </label>
        <label className="field">
          <span>{t('experiments.effect')}</span>
          <input type="number" min={0.01} max={0.5} step={0.01} value={form.effect} onChange={(e) => setForm({ ...form, effect: e.target.value })} required />
          <span className="hint">{t('experiments.effectHint')}</span>
        </label>
        {problem && <p className="error" role="alert">{problem}</p>}
        <div className="actions"><button type="submit" className="primary">{t('experiments.start')}</button></div>
      </form>
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('experiments.name')}</th><th>{t('experiments.agent')}</th><th>{t('experiments.traffic')}</th><th>{t('experiments.spent')}</th><th /></tr></thead>
          <tbody>
            {data?.experiments.length === 0 && <tr><td colSpan={5}>{t('console.none')}</td></tr>}
            {data?.experiments.map((x) => (
              <tr key={x.id} data-experiment={x.name}>
                <td>
                  {x.name}
                  <div className="hint">{t(`experiments.mode.${x.mode}`)} · {x.candidates.map((c) => c.model).join(', ')}</div>
                  <span className={x.status === 'running' ? 'ok-text' : 'hint'}>{t(`experiments.status.${x.status}`)}</span>
                  {x.stopped_reason && <div className="hint">{x.stopped_reason}</div>}
                </td>
                <td>{x.route ? `/v1 ${x.route}` : agentName(x.agent_id)}</td>
                <td>{t('experiments.counts', { live: x.counters.live_turns, replayed: x.counters.replayed, dropped: x.counters.dropped_queue_full + x.counters.skipped_budget })}</td>
                <td>${x.spent_today_usd.toFixed(4)} / ${x.daily_budget_usd}</td>
                <td className="row-actions">
                  <button type="button" aria-expanded={open === x.id} onClick={() => setOpen(open === x.id ? undefined : x.id)}>{t('experiments.report')}</button>
                  {x.status === 'running' && (
                    <ConfirmButton label={t('experiments.stop')} question={t('experiments.stopQuestion', { name: x.name })} onConfirm={() => act(() => client.call('POST', `${path(x.id)}/stop`, {}, Experiment))} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && <Report client={client} experimentId={open} onProblem={setProblem} onRefresh={reload} />}
    </section>
  );
}

function Report({ client, experimentId, onProblem, onRefresh }: { client: ConsoleApi; experimentId: string; onProblem: (p: string | undefined) => void; onRefresh: () => void }) {
  const { t, locale } = useI18n();
  // The recommendation sentences come written in the console's language.
  const { data, error, reload } = useLoad(() => client.call('GET', `${path(experimentId)}/report?locale=${locale}`, undefined, SwitchingReport), [client, experimentId, locale]);
  const download = async () => {
    onProblem(undefined);
    try {
      const res = await fetch(`${path(experimentId)}/report?format=csv`, { headers: { authorization: `Bearer ${client.masterKey}`, 'x-warbler-app': client.appId } });
      if (!res.ok) throw new Error(`The server answered ${res.status}.`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `experiment-${experimentId}.csv`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      onProblem(errorText(err));
    }
  };
  return (
    <section className="card switching-report" aria-label={t('experiments.report')}>
      <div className="actions">
        <h2>{t('experiments.reportTitle', { agent: data?.agent_name ?? '', model: data?.live_model ?? '' })}</h2>
        <button type="button" onClick={() => { reload(); onRefresh(); }}>{t('experiments.refresh')}</button>
        <button type="button" onClick={() => void download()}>{t('experiments.csv')}</button>
      </div>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {data && <p className="hint">{t('experiments.volume', { perDay: Math.round(data.turns_per_day) })}</p>}
      {data?.candidates.map((c) => <CandidateCard key={c.candidate_id} c={c} liveModel={data.live_model} />)}
    </section>
  );
}

function CandidateCard({ c, liveModel }: { c: CandidateReport; liveModel: string }) {
  const { t } = useI18n();
  const verdictClass = c.verdict === 'recommend' ? 'ok-text' : c.verdict === 'reject' ? 'error-text' : 'hint';
  return (
    <article className="candidate" data-candidate={c.model} data-verdict={c.verdict}>
      <h3>{c.name} <code>{c.model}</code> <span className={verdictClass}>{t(`experiments.verdict.${c.verdict}`)}</span></h3>
      <p className="recommendation" data-testid="recommendation">{c.recommendation}</p>
      {c.stopped_reason && <p className="hint">{c.stopped_reason}</p>}
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('experiments.metric')}</th><th>{liveModel}</th><th>{c.model}</th><th>{t('experiments.difference')}</th></tr></thead>
          <tbody>
            {c.metrics.map((m) => (
              <tr key={m.metric}>
                <th scope="row">{t(`experiments.metric.${m.metric}`)}</th>
                <td>{estimate(m, 'live')}</td>
                <td>{estimate(m, 'candidate')}</td>
                <td className={m.difference.significant ? 'strong' : 'hint'}>{difference(m)}</td>
              </tr>
            ))}
            {c.preference && (
              <tr>
                <th scope="row">{t('experiments.preference')}</th>
                <td colSpan={2}>{t('experiments.preferenceCounts', { wins: c.preference.wins, losses: c.preference.losses, ties: c.preference.ties })}</td>
                <td className={c.preference.significant ? 'strong' : 'hint'}>{c.preference.p === null ? '–' : `p = ${c.preference.p.toFixed(3)}`}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <p>
        {t('experiments.per1000', {
          live: c.cost.live_per_1000_turns.map(money).join(' + ') || '–',
          candidate: c.cost.candidate_per_1000_turns.map(money).join(' + ') || '–',
        })}
        {' '}
        {c.cost.monthly_live_usd !== null && c.cost.monthly_candidate_usd !== null &&
          t('experiments.monthly', { live: `$${c.cost.monthly_live_usd.toFixed(2)}`, candidate: `$${c.cost.monthly_candidate_usd.toFixed(2)}` })}
        {' '}
        {!!(c.cost.live_per_resolved?.length || c.cost.candidate_per_resolved?.length) &&
          t('experiments.perResolved', {
            live: c.cost.live_per_resolved?.map(money).join(' + ') || usd(c.cost.live_per_resolved_usd),
            candidate: c.cost.candidate_per_resolved?.map(money).join(' + ') || usd(c.cost.candidate_per_resolved_usd),
          })}
      </p>
    </article>
  );
}

const usd = (x: number | null | undefined) => (x == null ? '–' : `$${x.toFixed(4)}`);

function money(f: { currency: string; amount: string; usd: number | null }): string {
  const native = `${f.currency === 'CNY' ? '¥' : f.currency === 'USD' ? '$' : `${f.currency} `}${Number(f.amount).toFixed(4)}`;
  return f.currency !== 'USD' && f.usd !== null ? `${native} (≈ $${f.usd.toFixed(4)})` : native;
}

function show(m: MetricComparison, v: number | null): string {
  if (v === null) return '–';
  if (m.metric.endsWith('_rate')) return `${(v * 100).toFixed(1)}%`;
  if (m.metric === 'cost_per_turn_usd') return `${v < 0 ? '-' : ''}$${Math.abs(v).toFixed(6)}`;
  if (m.metric === 'grounding_score' || m.metric === 'csat') return v.toFixed(2);
  return String(Math.round(v));
}

function estimate(m: MetricComparison, side: 'live' | 'candidate'): string {
  const e = m[side];
  const ci = e.ci ? ` [${show(m, e.ci[0])}, ${show(m, e.ci[1])}]` : '';
  return `${show(m, e.value)}${ci} n=${e.n}`;
}

function difference(m: MetricComparison): string {
  const d = m.difference;
  if (d.estimate === null) return '–';
  const sign = d.estimate > 0 ? '+' : '';
  return `${sign}${show(m, d.estimate)}${d.p === null ? '' : ` (p ${d.p < 0.001 ? '< 0.001' : `= ${d.p.toFixed(3)}`})`}`;
}
