import { WebhookDelivery, WebhookDeliveryList, WebhookEndpoint, WebhookEndpointDeleted, WebhookEndpointList, WebhookEndpointWithSecret, type WebhookEventType } from '@warbler/protocol';
import { useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton, CopyButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

type Subscribable = Exclude<WebhookEventType, 'webhook.test'>;
// A record, so adding an event type to the protocol fails to compile here until the console offers it.
const EVENT_TYPES = Object.keys({
  'conversation.created': 1, 'conversation.handoff': 1, 'conversation.assigned': 1, 'conversation.resolved': 1,
  'conversation.reopened': 1, 'message.created': 1, 'csat.submitted': 1, 'audit.recorded': 1,
} satisfies Record<Subscribable, 1>) as Subscribable[];

const path = (id: string) => `/api/webhooks/endpoints/${encodeURIComponent(id)}`;

/** Webhook endpoints: created (the secret is shown once), tested, rotated; each with its delivery log and redelivery. */
export function WebhooksPage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', '/api/webhooks/endpoints', undefined, WebhookEndpointList), [client]);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<Subscribable[]>([]);
  const [secret, setSecret] = useState<{ endpoint: string; value: string }>();
  const [problem, setProblem] = useState<string>();
  const [open, setOpen] = useState<string>();
  const [logVersion, setLogVersion] = useState(0);

  const act = async (work: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await work();
      reload();
      setLogVersion((n) => n + 1);
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const r = await client.call('POST', '/api/webhooks/endpoints', { url: url.trim(), description: description.trim(), event_types: types }, WebhookEndpointWithSecret);
      setSecret({ endpoint: r.endpoint.url, value: r.secret });
      setUrl('');
      setDescription('');
      setTypes([]);
      setOpen(r.endpoint.id);
    });
  };
  const rotate = (ep: WebhookEndpoint) =>
    act(async () => {
      const r = await client.call('POST', `${path(ep.id)}/rotate-secret`, undefined, WebhookEndpointWithSecret);
      setSecret({ endpoint: r.endpoint.url, value: r.secret });
    });

  if (error && error.includes('No route')) return <section><h1>{t('webhooks.title')}</h1><p>{t('webhooks.unavailable')}</p></section>;
  return (
    <section className="webhooks">
      <h1>{t('webhooks.title')}</h1>
      <p className="hint">{t('webhooks.intro')}</p>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {secret && (
        <div className="banner ok" role="status">
          <p>{t('webhooks.shownOnce', { url: secret.endpoint })}</p>
          <code className="secret" data-testid="webhook-secret">{secret.value}</code>
          <CopyButton value={secret.value} />
        </div>
      )}
      <form className="card form-grid" onSubmit={create}>
        <h2>{t('webhooks.new')}</h2>
        <label className="field">
          <span>{t('webhooks.url')}</span>
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/warbler-webhooks" required maxLength={2000} />
        </label>
        <label className="field">
          <span>{t('webhooks.description')}</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />
        </label>
        <fieldset className="field">
          <legend>{t('webhooks.events')}</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type} className="check">
              <input type="checkbox" checked={types.includes(type)} onChange={(e) => setTypes(e.target.checked ? [...types, type] : types.filter((x) => x !== type))} />
              <code>{type}</code>
            </label>
          ))}
          <span className="hint">{t('webhooks.eventsHint')}</span>
        </fieldset>
        {problem && <p className="error" role="alert">{problem}</p>}
        <div className="actions"><button type="submit" className="primary">{t('console.create')}</button></div>
      </form>
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('webhooks.url')}</th><th>{t('webhooks.events')}</th><th>{t('webhooks.secret')}</th><th /></tr></thead>
          <tbody>
            {data?.endpoints.length === 0 && <tr><td colSpan={4}>{t('console.none')}</td></tr>}
            {data?.endpoints.map((ep) => (
              <tr key={ep.id} data-endpoint={ep.url} className={ep.enabled ? '' : 'revoked'}>
                <td>
                  <code className="wrap">{ep.url}</code>
                  {ep.description && <div className="hint">{ep.description}</div>}
                  <span className={ep.enabled ? 'ok-text' : 'error-text'}>{ep.enabled ? t('webhooks.enabled') : t('webhooks.disabled')}</span>
                </td>
                <td>{ep.event_types.length ? ep.event_types.join(', ') : t('webhooks.allEvents')}</td>
                <td><code>{ep.secret_prefix}…</code></td>
                <td className="row-actions">
                  <button type="button" aria-expanded={open === ep.id} onClick={() => setOpen(open === ep.id ? undefined : ep.id)}>{t('webhooks.deliveries')}</button>
                  <button type="button" onClick={() => act(() => client.call('POST', `${path(ep.id)}/test`, undefined, WebhookDelivery))}>{t('webhooks.test')}</button>
                  <button type="button" onClick={() => act(() => client.call('PATCH', path(ep.id), { enabled: !ep.enabled }, WebhookEndpoint))}>{ep.enabled ? t('webhooks.disable') : t('webhooks.enable')}</button>
                  <ConfirmButton label={t('webhooks.rotate')} question={t('webhooks.rotateQuestion')} onConfirm={() => rotate(ep)} />
                  <ConfirmButton label={t('console.delete')} question={t('webhooks.deleteQuestion', { url: ep.url })} onConfirm={() => act(() => client.call('DELETE', path(ep.id), undefined, WebhookEndpointDeleted))} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && data?.endpoints.some((ep) => ep.id === open) && <DeliveryLog client={client} endpointId={open} version={logVersion} onProblem={setProblem} />}
    </section>
  );
}

function DeliveryLog({ client, endpointId, version, onProblem }: { client: ConsoleApi; endpointId: string; version: number; onProblem: (p: string | undefined) => void }) {
  const { t, locale } = useI18n();
  const { data, error, reload } = useLoad(() => client.call('GET', `${path(endpointId)}/deliveries?limit=50`, undefined, WebhookDeliveryList), [client, endpointId, version]);
  const redeliver = async (id: string) => {
    onProblem(undefined);
    try {
      await client.call('POST', `/api/webhooks/deliveries/${encodeURIComponent(id)}/redeliver`, undefined, WebhookDelivery);
      reload();
    } catch (err) {
      onProblem(errorText(err));
    }
  };
  const when = (ms: number) => new Date(ms).toLocaleString(locale);
  return (
    <section className="card delivery-log" aria-label={t('webhooks.deliveries')}>
      <div className="actions">
        <h2>{t('webhooks.deliveries')}</h2>
        <button type="button" onClick={reload}>{t('webhooks.refresh')}</button>
      </div>
      {error && <p className="error" role="alert">{t('console.error', { message: error })}</p>}
      {data?.deliveries.length === 0 && <p>{t('webhooks.noDeliveries')}</p>}
      <ul className="deliveries">
        {data?.deliveries.map((d) => {
          const last = d.log.at(-1);
          return (
            <li key={d.id} data-delivery={d.event_type}>
              <details>
                <summary>
                  <span className={d.status === 'delivered' ? 'ok-text' : d.status === 'failed' ? 'error-text' : 'hint'}>{t(`webhooks.status.${d.status}`)}</span>
                  {' '}<code>{d.event_type}</code>
                  {' · '}{when(d.created_at)}
                  {last && <> · {last.status_code ?? '—'} · {last.latency_ms} ms</>}
                  {' · '}{t('webhooks.attempts', { count: d.attempts })}
                  {d.status === 'pending' && d.next_attempt_at !== null && d.attempts > 0 && <> · {t('webhooks.nextAt', { at: when(d.next_attempt_at) })}</>}
                </summary>
                <p className="hint"><code>{d.event_id}</code></p>
                <ol className="attempts">
                  {d.log.map((a) => (
                    <li key={a.attempt}>
                      {when(a.at)} · {a.status_code ?? '—'} · {a.latency_ms} ms
                      {a.error && <div className="error-text">{a.error}</div>}
                      {a.response && <pre className="response">{a.response}</pre>}
                    </li>
                  ))}
                </ol>
              </details>
              {d.status !== 'pending' && <button type="button" onClick={() => redeliver(d.id)}>{t('webhooks.redeliver')}</button>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
