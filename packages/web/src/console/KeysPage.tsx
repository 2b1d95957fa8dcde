import { GatewayKey, GatewayKeyCreated, GatewayKeyList } from '@warbler/protocol';
import { useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton, CopyButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

type KeyView = GatewayKey;

interface KeyForm {
  name: string;
  models: string;
  budget: string;
  rpm: string;
  tpm: string;
}

const empty: KeyForm = { name: '', models: '', budget: '', rpm: '', tpm: '' };
const num = (s: string) => (s.trim() === '' ? null : Number(s));

function body(f: KeyForm) {
  const models = f.models.split(',').map((m) => m.trim()).filter(Boolean);
  return { name: f.name.trim(), allowed_models: models.length ? models : null, monthly_budget_usd: num(f.budget), rpm: num(f.rpm), tpm: num(f.tpm) };
}

/** Virtual keys of the /v1 gateway: created (the secret is shown once), limited, revoked. */
export function KeysPage({ client }: { client: ConsoleApi }) {
  const { t, locale } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/gateway/keys', undefined, GatewayKeyList), [client]);
  const [form, setForm] = useState<KeyForm>(empty);
  const [editing, setEditing] = useState<string>();
  const [secret, setSecret] = useState<string>();
  const [problem, setProblem] = useState<string>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      if (editing) {
        await client.call('PATCH', `/api/gateway/keys/${encodeURIComponent(editing)}`, body(form), GatewayKey);
        setEditing(undefined);
      } else {
        const r = await client.call('POST', '/api/gateway/keys', body(form), GatewayKeyCreated);
        setSecret(r.secret);
      }
      setForm(empty);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const revoke = async (id: string) => {
    try {
      await client.call('POST', `/api/gateway/keys/${encodeURIComponent(id)}/revoke`, undefined, GatewayKey);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const edit = (k: KeyView) => {
    setEditing(k.id);
    setSecret(undefined);
    setForm({ name: k.name, models: (k.allowed_models ?? []).join(', '), budget: k.monthly_budget_usd?.toString() ?? '', rpm: k.rpm?.toString() ?? '', tpm: k.tpm?.toString() ?? '' });
  };

  if (error && error.includes('No route')) return <section><h1>{t('keys.title')}</h1><p>{t('keys.unavailable')}</p></section>;
  const field = (key: keyof KeyForm, label: string, type = 'text') => (
    <label className="field">
      <span>{label}</span>
      <input type={type} value={form[key]} min={type === 'number' ? 0 : undefined} step="any" onChange={(e) => setForm({ ...form, [key]: e.target.value })} required={key === 'name'} />
    </label>
  );

  return (
    <section>
      <h1>{t('keys.title')}</h1>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {secret && (
        <div className="banner ok" role="status">
          <p>{t('keys.shownOnce')}</p>
          <code className="secret" data-testid="new-key-secret">{secret}</code>
          <CopyButton value={secret} />
        </div>
      )}
      <form className="card form-grid" onSubmit={submit}>
        <h2>{editing ? `${t('console.save')}: ${form.name}` : t('keys.new')}</h2>
        {field('name', t('console.name'))}
        {field('models', t('keys.models'))}
        {field('budget', t('keys.budget'), 'number')}
        {field('rpm', t('keys.rpm'), 'number')}
        {field('tpm', t('keys.tpm'), 'number')}
        {problem && <p className="error" role="alert">{problem}</p>}
        <div className="actions">
          {editing && <button type="button" onClick={() => { setEditing(undefined); setForm(empty); }}>{t('dialog.cancel')}</button>}
          <button type="submit" className="primary">{editing ? t('console.save') : t('console.create')}</button>
        </div>
      </form>
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('console.name')}</th><th>Key</th><th>{t('keys.models')}</th><th>{t('keys.budget')}</th><th>RPM / TPM</th><th /></tr></thead>
          <tbody>
            {data?.keys.length === 0 && <tr><td colSpan={6}>{t('console.none')}</td></tr>}
            {data?.keys.map((k) => (
              <tr key={k.id} className={k.revoked_at ? 'revoked' : ''}>
                <td>{k.name}<div className="hint">{new Date(k.created_at).toLocaleDateString(locale)}</div></td>
                <td><code>{k.prefix}…</code> <span className={k.revoked_at ? 'error-text' : 'ok-text'}>{k.revoked_at ? t('keys.revoked') : t('keys.active')}</span></td>
                <td>{k.allowed_models?.join(', ') ?? '*'}</td>
                <td>{k.monthly_budget_usd ?? '—'}</td>
                <td>{k.rpm ?? '—'} / {k.tpm ?? '—'}</td>
                <td>
                  {!k.revoked_at && <button type="button" onClick={() => edit(k)}>{t('msg.edit')}</button>}
                  {!k.revoked_at && <ConfirmButton label={t('keys.revoke')} question={t('keys.revokeQuestion', { name: k.name })} onConfirm={() => revoke(k.id)} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

