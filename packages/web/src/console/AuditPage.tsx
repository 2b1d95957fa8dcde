import { useState } from 'react';
import { AuditPage as AuditPageShape, AuditVerification } from '@warbler/protocol';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { useLoad } from './useLoad.ts';

const RESOURCES = ['', 'agent', 'provider', 'gateway_key', 'knowledge_base', 'knowledge_document', 'app', 'app_secret', 'user', 'member', 'user_data', 'retention_policy'];
const ACTORS = ['', 'master_key', 'app_secret', 'user', 'system'] as const;
type ActorKind = Exclude<(typeof ACTORS)[number], ''>;
const actorLabel = (kind: string) => `audit.actor.${(ACTORS as readonly string[]).includes(kind) && kind ? (kind as ActorKind) : 'system'}` as const;

/** The app's audit trail: who changed what, when and from where; filtered, verified and downloaded as JSON Lines. */
export function AuditPage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const [resource, setResource] = useState('');
  const [actor, setActor] = useState('');
  const [before, setBefore] = useState<number>();
  const query = new URLSearchParams({ limit: '50', ...(resource ? { resource } : {}), ...(actor ? { actor_kind: actor } : {}), ...(before ? { before_seq: String(before) } : {}) });
  const { data, error } = useLoad(() => client.call('GET', `/api/audit?${query}`, undefined, AuditPageShape), [client, resource, actor, before]);
  const [verification, setVerification] = useState<AuditVerification | string>();
  const [open, setOpen] = useState<string>();

  const verify = async () => {
    try {
      setVerification(await client.call('GET', '/api/audit/verify', undefined, AuditVerification));
    } catch (err) {
      setVerification(errorText(err));
    }
  };
  const download = async () => {
    const res = await fetch('/api/audit/export', { headers: { authorization: `Bearer ${client.masterKey}`, 'x-warbler-app': client.appId } });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `audit-${client.appId}.jsonl`;
    a.click();
    URL.revokeObjectURL(url);
  };

  return (
    <section>
      <h1>{t('audit.title')}</h1>
      <p className="hint">{t('audit.intro')}</p>
      <div className="toolbar">
        <label className="inline">
          <span>{t('audit.resource')}</span>
          <select name="audit-resource" value={resource} onChange={(e) => { setResource(e.target.value); setBefore(undefined); }}>
            {RESOURCES.map((r) => <option key={r} value={r}>{r || t('audit.all')}</option>)}
          </select>
        </label>
        <label className="inline">
          <span>{t('audit.actor')}</span>
          <select name="audit-actor" value={actor} onChange={(e) => { setActor(e.target.value); setBefore(undefined); }}>
            {ACTORS.map((a) => <option key={a} value={a}>{a ? t(actorLabel(a)) : t('audit.all')}</option>)}
          </select>
        </label>
        <button type="button" onClick={() => void verify()}>{t('audit.verify')}</button>
        <button type="button" onClick={() => void download()}>{t('audit.export')}</button>
      </div>
      {verification && (typeof verification === 'string'
        ? <p className="error" role="alert">{verification}</p>
        : <div className={`banner ${verification.ok ? 'ok' : 'error'}`} role="status">
            <p>{verification.ok ? t('audit.verified', { count: String(verification.entries) }) : t('audit.broken', { seq: String(verification.broken?.seq ?? '?'), reason: verification.broken?.reason ?? '' })}</p>
          </div>)}
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      <div className="table-wrap">
        <table className="audit">
          <thead><tr><th>#</th><th>{t('audit.when')}</th><th>{t('audit.who')}</th><th>{t('audit.action')}</th><th>{t('audit.where')}</th><th /></tr></thead>
          <tbody>
            {data?.entries.length === 0 && <tr><td colSpan={6}>{t('console.none')}</td></tr>}
            {data?.entries.map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td>{e.seq}</td>
                <td>{new Date(e.at).toLocaleString(locale)}</td>
                <td>{t(actorLabel(e.actor.kind))}{e.actor.id ? <div className="hint">{e.actor.id}</div> : null}</td>
                <td><code>{e.action}</code>{e.resource_id && <div className="hint">{e.resource_id}</div>}</td>
                <td>{e.ip ?? '—'}<div className="hint">{e.user_agent?.slice(0, 60)}</div></td>
                <td>
                  <button type="button" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? undefined : e.id)}>{t('audit.changes')}</button>
                  {open === e.id && (
                    <div className="audit-change">
                      {e.before !== null && e.before !== undefined && <><div className="hint">{t('audit.before')}</div><pre>{JSON.stringify(e.before, null, 2)}</pre></>}
                      {e.after !== null && e.after !== undefined && <><div className="hint">{t('audit.after')}</div><pre>{JSON.stringify(e.after, null, 2)}</pre></>}
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="actions">
        {before && <button type="button" onClick={() => setBefore(undefined)}>{t('audit.newest')}</button>}
        {data?.next_before_seq && <button type="button" onClick={() => setBefore(data.next_before_seq ?? undefined)}>{t('audit.older')}</button>}
      </div>
    </section>
  );
}
