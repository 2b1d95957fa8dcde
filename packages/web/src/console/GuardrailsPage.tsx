import { useState } from 'react';
import { AgentList, GatewayKeyList, GuardrailInterventionPage, type GuardrailAction, type GuardrailIntervention } from '@warbler/protocol';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { useLoad } from './useLoad.ts';

// Types only from the protocol: the web bundle carries no zod.
const ACTIONS = ['block', 'mask', 'flag', 'strip'] as const satisfies readonly GuardrailAction[];

/**
 * Guardrail interventions (issue 17): every call a sensitive word blocked, masked or flagged, every
 * personal-data mask and planted instruction stripped, with the rule that fired and where; never the
 * word or the data itself in the excerpt.
 */
export function GuardrailsPage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const [action, setAction] = useState('');
  const [rule, setRule] = useState('');
  const [before, setBefore] = useState<string>();
  const query = new URLSearchParams({ limit: '50', ...(action && { action }), ...(rule && { rule }), ...(before && { before }) });
  const { data, error } = useLoad(() => client.call('GET', `/api/guardrails/interventions?${query}`, undefined, GuardrailInterventionPage), [client, action, rule, before]);
  // Names for the ids a row carries: the app's keys and agents (an id that is gone shows as itself).
  const names = useLoad(async () => {
    const [keys, agents] = await Promise.all([
      client.call('GET', '/api/gateway/keys', undefined, GatewayKeyList).catch(() => ({ keys: [] })),
      client.call('GET', '/api/agents', undefined, AgentList).catch(() => ({ agents: [] })),
    ]);
    return new Map([...keys.keys, ...agents.agents].map((x) => [x.id, x.name] as const));
  }, [client]);

  const who = (i: GuardrailIntervention) => {
    if (i.who === null) return <>{t('guardrails.who.master')}</>;
    const kind = i.path === 'agent' ? t('guardrails.who.agent') : t('guardrails.who.key');
    return <>{kind}: {names.data?.get(i.who) ?? i.who}<div className="hint">{i.who}</div></>;
  };
  const filter = (set: (v: string) => void) => (v: string) => { set(v); setBefore(undefined); };

  return (
    <section>
      <h1>{t('guardrails.title')}</h1>
      <p className="hint">{t('guardrails.intro')}</p>
      <div className="toolbar">
        <label className="inline">
          <span>{t('guardrails.action')}</span>
          <select name="guardrails-action" value={action} onChange={(e) => filter(setAction)(e.target.value)}>
            <option value="">{t('audit.all')}</option>
            {ACTIONS.map((a) => <option key={a} value={a}>{t(`guardrails.action.${a}`)}</option>)}
          </select>
        </label>
        <label className="inline">
          <span>{t('guardrails.rule')}</span>
          <select name="guardrails-rule" value={rule} onChange={(e) => filter(setRule)(e.target.value)}>
            <option value="">{t('audit.all')}</option>
            {[...new Set([...(data?.rules ?? []), ...(rule ? [rule] : [])])].map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
      </div>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {!data && !error && <p>{t('console.loading')}</p>}
      {data && (
        <div className="table-wrap">
          <table data-testid="guardrail-interventions">
            <thead>
              <tr>
                <th>{t('audit.when')}</th><th>{t('guardrails.where')}</th><th>{t('guardrails.who')}</th><th>{t('guardrails.rule')}</th>
                <th>{t('guardrails.action')}</th><th>{t('guardrails.excerpt')}</th>
              </tr>
            </thead>
            <tbody>
              {data.interventions.length === 0 && <tr><td colSpan={6} className="hint">{t('guardrails.empty')}</td></tr>}
              {data.interventions.map((i) => (
                <tr key={i.id} data-action={i.action} data-rule={i.rule}>
                  <td>{new Date(i.at).toLocaleString(locale)}</td>
                  <td>{t(`guardrails.path.${i.path}`)}</td>
                  <td>{who(i)}</td>
                  <td><code>{i.rule}</code>{i.word && <div className="hint">{t('guardrails.word', { word: i.word })}</div>}</td>
                  <td>{i.action === 'block' ? <strong>{t(`guardrails.action.${i.action}`)}</strong> : t(`guardrails.action.${i.action}`)}{i.count > 1 && <span className="hint"> ×{i.count}</span>}</td>
                  <td>{i.excerpt ? <q className="excerpt">{i.excerpt}</q> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        {before && <button type="button" onClick={() => setBefore(undefined)}>{t('audit.newest')}</button>}
        {data?.next_before && <button type="button" onClick={() => setBefore(data.next_before ?? undefined)}>{t('audit.older')}</button>}
      </div>
      <p className="hint">{t('guardrails.note')}</p>
    </section>
  );
}
