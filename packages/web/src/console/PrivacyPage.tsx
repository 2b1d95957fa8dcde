import { useState, type FormEvent } from 'react';
import { RetentionPolicies, RetentionPreview, UserErasure, type RetentionScope } from '@warbler/protocol';
import { ApiError, errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

const SCOPES: readonly RetentionScope[] = ['support', 'group', 'direct', 'all'];

/** A user's data on request (export, erase) and the app's retention policies with a preview of what they remove. */
export function PrivacyPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/retention', undefined, RetentionPolicies), [client]);
  const [days, setDays] = useState<Partial<Record<RetentionScope, string>>>();
  const [preview, setPreview] = useState<RetentionPreview>();
  const [userId, setUserId] = useState('');
  const [notice, setNotice] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const shown = days ?? Object.fromEntries((data?.policies ?? []).map((p) => [p.kind, String(p.days)]));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const policies = SCOPES.filter((k) => shown[k]?.trim()).map((kind) => ({ kind, days: Number(shown[kind]) }));
      await client.call('PUT', '/api/retention', { policies }, RetentionPolicies);
      setPreview(await client.call('GET', '/api/retention/preview', undefined, RetentionPreview));
      setDays(undefined);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const exportUser = async () => {
    setProblem(undefined);
    const res = await fetch(`/api/privacy/users/${encodeURIComponent(userId.trim())}/export`, { method: 'POST', headers: { authorization: `Bearer ${client.masterKey}`, 'x-warbler-app': client.appId } });
    if (!res.ok) {
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      return setProblem(errorText(new ApiError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? String(res.status))));
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'user.zip';
    a.click();
    URL.revokeObjectURL(url);
    setNotice(t('privacy.exported', { id: userId.trim() }));
  };
  const erase = async () => {
    setProblem(undefined);
    try {
      const r = await client.call('POST', `/api/privacy/users/${encodeURIComponent(userId.trim())}/erase`, undefined, UserErasure);
      setNotice(t('privacy.erased', { messages: String(r.messages_replaced), files: String(r.files_removed), ledger: String(r.ledger_rows_anonymized) }));
      setUserId('');
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  return (
    <section>
      <h1>{t('privacy.title')}</h1>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {notice && <div className="banner ok" role="status"><p>{notice}</p></div>}
      {problem && <p className="error" role="alert">{problem}</p>}
      <div className="card form-grid">
        <h2>{t('privacy.user')}</h2>
        <p className="hint wide">{t('privacy.user.hint')}</p>
        <label className="field">
          <span>{t('privacy.userId')}</span>
          <input name="privacy-user-id" value={userId} onChange={(e) => setUserId(e.target.value)} maxLength={128} />
        </label>
        <div className="actions">
          <button type="button" disabled={!userId.trim()} onClick={() => void exportUser()}>{t('privacy.export')}</button>
          {userId.trim() && <ConfirmButton label={t('privacy.erase')} question={t('privacy.eraseQuestion', { id: userId.trim() })} onConfirm={erase} />}
        </div>
      </div>
      <form className="card form-grid" onSubmit={save}>
        <h2>{t('privacy.retention')}</h2>
        <p className="hint wide">{t('privacy.retention.hint')}</p>
        {SCOPES.map((k) => (
          <label className="field" key={k}>
            <span>{t(`privacy.scope.${k}`)}</span>
            <input name={`retention-${k}`} type="number" min={1} max={36500} placeholder={t('privacy.keep')} value={shown[k] ?? ''} onChange={(e) => setDays({ ...shown, [k]: e.target.value })} />
          </label>
        ))}
        <div className="actions">
          <button type="button" onClick={() => void client.call('GET', '/api/retention/preview', undefined, RetentionPreview).then(setPreview, (err: unknown) => setProblem(errorText(err)))}>{t('privacy.preview')}</button>
          <button type="submit" className="primary">{t('console.save')}</button>
        </div>
        {preview && (
          <p className="wide" role="status" data-testid="retention-preview">
            {t('privacy.previewResult', { conversations: String(preview.conversations), messages: String(preview.messages), files: String(preview.files) })}
          </p>
        )}
      </form>
    </section>
  );
}
