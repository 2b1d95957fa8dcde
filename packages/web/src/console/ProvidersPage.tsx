import { useState, type FormEvent } from 'react';
import { ProviderList, ProviderTestResult, ProviderView, type ProviderKind } from '@warbler/protocol';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

const KINDS: readonly ProviderKind[] = ['openai-compatible', 'openai', 'deepseek', 'doubao', 'qwen', 'ollama'];

interface ProviderForm {
  id: string;
  kind: ProviderKind;
  baseUrl: string;
  apiKey: string;
  /** One model a line: name, upstream model (optional), input and output price per 1M tokens (optional). */
  models: string;
  currency: string;
}

const empty: ProviderForm = { id: '', kind: 'openai-compatible', baseUrl: '', apiKey: '', models: '', currency: 'USD' };

function modelsFrom(text: string, currency: string) {
  return text.split('\n').map((line) => line.split(',').map((s) => s.trim())).filter((cells) => cells[0]).map(([name, upstream, input, output]) => ({
    name: name!, ...(upstream ? { upstream } : {}),
    ...(input && output ? { input_per_million: Number(input), output_per_million: Number(output) } : {}), currency,
  }));
}

function modelsText(p: ProviderView): string {
  return p.models.map((m) => [m.name, m.upstream ?? '', m.input_per_million ?? '', m.output_per_million ?? ''].join(', ').replace(/(, )+$/, '')).join('\n');
}

/** Providers added here at run time (key sealed, shown by its last four characters), beside warbler.yaml's and the environment's (read-only). */
export function ProvidersPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/providers', undefined, ProviderList), [client]);
  const [form, setForm] = useState<ProviderForm>(empty);
  const [editing, setEditing] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [tests, setTests] = useState<Record<string, ProviderTestResult | 'running'>>({});

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    setNotice(undefined);
    const body = {
      kind: form.kind, ...(form.baseUrl.trim() ? { base_url: form.baseUrl.trim() } : {}),
      ...(form.apiKey ? { api_key: form.apiKey } : {}), models: modelsFrom(form.models, form.currency),
    };
    try {
      if (editing) await client.call('PATCH', `/api/providers/${encodeURIComponent(editing)}`, body, ProviderView);
      else await client.call('POST', '/api/providers', { id: form.id.trim(), ...body }, ProviderView);
      setNotice(t('providers.saved', { id: editing ?? form.id.trim() }));
      setEditing(undefined);
      setForm(empty);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const test = async (id: string) => {
    setTests((s) => ({ ...s, [id]: 'running' }));
    try {
      const r = await client.call('POST', `/api/providers/${encodeURIComponent(id)}/test`, {}, ProviderTestResult);
      setTests((s) => ({ ...s, [id]: r }));
    } catch (err) {
      setTests((s) => ({ ...s, [id]: { ok: false, model: '', latency_ms: 0, message: errorText(err) } }));
    }
  };
  const remove = async (id: string) => {
    try {
      await client.call('DELETE', `/api/providers/${encodeURIComponent(id)}`);
      reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const edit = (p: ProviderView) => {
    setEditing(p.id);
    setNotice(undefined);
    setForm({ id: p.id, kind: p.kind as ProviderKind, baseUrl: p.base_url ?? '', apiKey: '', models: modelsText(p), currency: p.models[0]?.currency ?? 'USD' });
  };

  return (
    <section>
      <h1>{t('providers.title')}</h1>
      <p className="hint">{t('providers.intro')}</p>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {notice && <div className="banner ok" role="status"><p>{notice}</p></div>}
      <form className="card form-grid" onSubmit={submit} aria-label={editing ? t('providers.edit', { id: editing }) : t('providers.new')}>
        <h2>{editing ? t('providers.edit', { id: editing }) : t('providers.new')}</h2>
        <label className="field">
          <span>{t('providers.id')}</span>
          <input name="provider-id" value={form.id} onChange={(e) => setForm({ ...form, id: e.target.value })} required disabled={Boolean(editing)} pattern="[a-z0-9][a-z0-9_\-]*" maxLength={64} />
        </label>
        <label className="field">
          <span>{t('providers.kind')}</span>
          <select name="provider-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as ProviderKind })}>
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label className="field">
          <span>{t('providers.baseUrl')}</span>
          <input name="provider-base-url" type="url" value={form.baseUrl} placeholder="https://…/v1" onChange={(e) => setForm({ ...form, baseUrl: e.target.value })} required={form.kind === 'openai-compatible'} />
        </label>
        <label className="field">
          <span>{t('providers.apiKey')}</span>
          <input name="provider-api-key" type="password" autoComplete="off" value={form.apiKey} placeholder={editing ? t('providers.keepKey') : ''} onChange={(e) => setForm({ ...form, apiKey: e.target.value })} />
        </label>
        <label className="field wide">
          <span>{t('providers.models')}</span>
          <textarea name="provider-models" rows={3} value={form.models} placeholder="deepseek-chat, deepseek-chat, 0.27, 1.10" onChange={(e) => setForm({ ...form, models: e.target.value })} required />
          <span className="hint">{t('providers.models.hint')}</span>
        </label>
        <label className="field">
          <span>{t('providers.currency')}</span>
          <select name="provider-currency" value={form.currency} onChange={(e) => setForm({ ...form, currency: e.target.value })}>
            <option value="USD">USD</option>
            <option value="CNY">CNY</option>
          </select>
        </label>
        {problem && <p className="error" role="alert">{problem}</p>}
        <div className="actions">
          {editing && <button type="button" onClick={() => { setEditing(undefined); setForm(empty); }}>{t('dialog.cancel')}</button>}
          <button type="submit" className="primary">{editing ? t('console.save') : t('providers.add')}</button>
        </div>
      </form>
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('providers.id')}</th><th>{t('providers.kind')}</th><th>{t('providers.apiKey')}</th><th>{t('providers.models')}</th><th>{t('providers.source')}</th><th /></tr></thead>
          <tbody>
            {data?.providers.length === 0 && <tr><td colSpan={6}>{t('console.none')}</td></tr>}
            {data?.providers.map((p) => {
              const result = tests[p.id];
              return (
                <tr key={`${p.source}:${p.id}`} data-provider={p.id}>
                  <td>{p.id}<div className="hint">{p.base_url}</div></td>
                  <td>{p.kind}</td>
                  <td><code>{p.api_key ?? '—'}</code></td>
                  <td>{p.models.map((m) => m.name).join(', ') || '—'}</td>
                  <td>{t(`providers.source.${p.source}`)}</td>
                  <td>
                    {p.source === 'console' ? (
                      <>
                        <button type="button" onClick={() => void test(p.id)} disabled={result === 'running'}>{t('providers.test')}</button>
                        <button type="button" onClick={() => edit(p)}>{t('msg.edit')}</button>
                        <ConfirmButton label={t('console.delete')} question={t('providers.removeQuestion', { id: p.id })} onConfirm={() => remove(p.id)} />
                        {result && result !== 'running' && (
                          <div className={result.ok ? 'ok-text' : 'error-text'} role="status">{result.ok ? t('providers.test.ok', { ms: String(result.latency_ms) }) : result.message}</div>
                        )}
                      </>
                    ) : <span className="hint">{t('providers.readOnly')}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
