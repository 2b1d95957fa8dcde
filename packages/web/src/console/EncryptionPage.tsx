import { useEffect, useState } from 'react';
import { AppEncryptionStatus, EncryptionOverview } from '@warbler/protocol';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

/** How often the page asks again while a re-sealing job runs (it moves in batches of 200 rows). */
const POLL_MS = 1_000;

const leftOver = (app: AppEncryptionStatus) => Object.values(app.remaining).reduce((sum, n) => sum + n, 0);

/**
 * Encryption at rest, installation-wide: where the master secret comes from,
 * each app's data key versions, how many rows still wait under an older one,
 * and a rotation with its progress, asked again while a job runs.
 */
export function EncryptionPage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/admin/encryption', undefined, EncryptionOverview), [client]);
  const [problem, setProblem] = useState<string>();
  const running = data?.apps.some((a) => a.job?.state === 'running') ?? false;

  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [data, running]);

  const rotate = async (appId: string) => {
    setProblem(undefined);
    try {
      await client.call('POST', `/admin/apps/${encodeURIComponent(appId)}/encryption/rotate`, undefined, AppEncryptionStatus);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  return (
    <section>
      <h1>{t('encryption.title')}</h1>
      <p className="hint">{t('encryption.intro')}</p>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {problem && <p className="error" role="alert">{problem}</p>}
      {data && (
        <dl className="encryption-status">
          <dt>{t('encryption.state')}</dt>
          <dd data-testid="encryption-state">{data.enabled ? t('encryption.on') : t('encryption.off')}</dd>
          <dt>{t('encryption.source')}</dt>
          <dd>{t(`encryption.source.${data.key_source}`)}</dd>
          {data.key_id && <><dt>{t('encryption.keyId')}</dt><dd><code>{data.key_id}</code></dd></>}
        </dl>
      )}
      {data?.key_source === 'file' && <div className="banner warn encryption-note" role="note"><p>{t('encryption.backup')}</p></div>}
      {data?.enabled === false && <div className="banner warn encryption-note" role="note"><p>{t('encryption.offWarning')}</p></div>}
      {data?.enabled && (
        <div className="table-wrap">
          <table className="encryption-apps">
            <thead><tr><th>{t('encryption.app')}</th><th>{t('encryption.keys')}</th><th>{t('encryption.remaining')}</th><th>{t('encryption.job')}</th><th /></tr></thead>
            <tbody>
              {data.apps.map((app) => (
                <tr key={app.app_id} data-app={app.app_id}>
                  <td data-label={t('encryption.app')}><code>{app.app_id}</code></td>
                  <td data-label={t('encryption.keys')}>
                    <ul className="plain">
                      {app.keys.map((k) => (
                        <li key={k.version}>
                          {t('encryption.version', { version: String(k.version) })}
                          {k.version === app.current_version && <> · <strong>{t('encryption.current')}</strong></>}
                          <div className="hint">{new Date(k.created_at).toLocaleString(locale)}</div>
                        </li>
                      ))}
                      {app.keys.length === 0 && <li>{t('encryption.noKey')}</li>}
                    </ul>
                  </td>
                  <td data-label={t('encryption.remaining')} data-testid="encryption-remaining">{leftOver(app)}</td>
                  <td data-label={t('encryption.job')}><JobProgress app={app} /></td>
                  <td>
                    <ConfirmButton
                      label={t('encryption.rotate')}
                      question={t('encryption.rotateQuestion', { app: app.app_id, version: String(app.current_version + 1) })}
                      onConfirm={() => rotate(app.app_id)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function JobProgress({ app }: { app: AppEncryptionStatus }) {
  const { t, locale } = useI18n();
  const job = app.job;
  if (!job) return <span>—</span>;
  if (job.state === 'done') {
    return (
      <span className="ok-text" role="status" data-testid="encryption-job">
        {t('encryption.done', { version: String(job.target_version), count: String(job.resealed) })}
        {job.finished_at && <div className="hint">{new Date(job.finished_at).toLocaleString(locale)}</div>}
      </span>
    );
  }
  const left = leftOver(app);
  return (
    <div className="progress-row" role="status" data-testid="encryption-job">
      <progress max={job.resealed + left} value={job.resealed} aria-label={t('encryption.progress')} />
      <span>{t('encryption.running', { count: String(job.resealed), left: String(left), phase: job.phase })}</span>
    </div>
  );
}
