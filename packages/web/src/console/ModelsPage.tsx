import { ModelCatalog, ModelCheck } from '@warbler/protocol';
import { useState } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { useLoad } from './useLoad.ts';

/** What the page shows of a check: the server's answer, or the request's own failure. */
type CheckShown = Pick<ModelCheck, 'ok' | 'latency_ms' | 'error'>;

export function ModelsPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/models', undefined, ModelCatalog), [client]);
  const [checks, setChecks] = useState<Record<string, CheckShown | 'running'>>({});

  const check = async (model: string) => {
    setChecks((c) => ({ ...c, [model]: 'running' }));
    try {
      const r = await client.call('POST', '/api/models/check', { model }, ModelCheck);
      setChecks((c) => ({ ...c, [model]: r }));
    } catch (err) {
      setChecks((c) => ({ ...c, [model]: { ok: false, latency_ms: 0, error: { code: 'request', message: errorText(err) } } }));
    }
    reload();
  };

  return (
    <section>
      <h1>{t('models.title')}</h1>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {!data && !error && <p>{t('console.loading')}</p>}
      {data && (
        <>
          <h2>{t('models.providers')}</h2>
          <ul className="plain">
            {data.providers.map((p) => <li key={p.name}><strong>{p.name}</strong>{p.preset && p.preset !== p.name ? ` (${p.preset})` : ''} — {t('models.provider.configured')}</li>)}
            <li><strong>local</strong> — local/kb-answer</li>
          </ul>
          <p className="hint">{t('models.keysNote')}</p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr><th>{t('models.model')}</th><th>{t('models.deployments')}</th><th>{t('models.price')}</th><th>{t('models.status')}</th></tr>
              </thead>
              <tbody>
                {data.models.map((m) => {
                  const c = checks[m.name];
                  return (
                    <tr key={m.name} data-model={m.name}>
                      <td><strong>{m.name}</strong>{m.fallbacks.length > 0 && <div className="hint">→ {m.fallbacks.join(', ')}</div>}</td>
                      <td>
                        {m.deployments.map((d) => (
                          <div key={d.id}>
                            <span className={`dot ${d.state}`} aria-hidden="true" /> {d.id} <span className="hint">({t(`models.state.${d.state}`)})</span>
                          </div>
                        ))}
                      </td>
                      <td>{m.price ? `${m.price.input_per_million} / ${m.price.cached_input_per_million} / ${m.price.output_per_million} ${m.price.currency}` : '—'}</td>
                      <td>
                        <button type="button" onClick={() => void check(m.name)} disabled={c === 'running'}>{c === 'running' ? t('models.checking') : t('models.check')}</button>
                        {c && c !== 'running' && (
                          <div className={c.ok ? 'ok-text' : 'error-text'} role="status">
                            {c.ok ? t('models.ok', { ms: c.latency_ms }) : `${c.error?.code}: ${c.error?.message}`}
                          </div>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
