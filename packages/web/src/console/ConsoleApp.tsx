import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, errorText } from '../api.ts';
import { LanguageSwitch, useI18n } from '../ui/i18n.tsx';
import { AgentsPage } from './AgentsPage.tsx';
import { AuditPage } from './AuditPage.tsx';
import { GuardrailsPage } from './GuardrailsPage.tsx';
import { EncryptionPage } from './EncryptionPage.tsx';
import { ExperimentsPage } from './ExperimentsPage.tsx';
import { ConsoleApi, loadConsoleSession, saveConsoleSession } from './client.ts';
import { KeysPage } from './KeysPage.tsx';
import { KnowledgePage } from './KnowledgePage.tsx';
import { ModelsPage } from './ModelsPage.tsx';
import { PrivacyPage } from './PrivacyPage.tsx';
import { ProvidersPage } from './ProvidersPage.tsx';
import { UsagePage } from './UsagePage.tsx';
import { SupportPage } from './SupportPage.tsx';
import { WebhooksPage } from './WebhooksPage.tsx';

const PAGES = ['models', 'agents', 'knowledge', 'usage', 'support', 'keys', 'webhooks', 'experiments', 'providers', 'guardrails', 'audit', 'privacy', 'encryption'] as const;
type Page = (typeof PAGES)[number];

function pageFromPath(): Page {
  const p = location.pathname.split('/')[2] as Page | undefined;
  return p && PAGES.includes(p) ? p : 'agents';
}

/** The operator's console, at /console: signed in with the master key, acting in one app. */
export default function ConsoleApp() {
  const [session, setSession] = useState(loadConsoleSession);
  if (!session) {
    return <ConsoleSignIn onSignedIn={(s) => { saveConsoleSession(s); setSession(s); }} />;
  }
  return <Console session={session} onChange={(s) => { saveConsoleSession(s); setSession(s); }} />;
}

function Console({ session, onChange }: { session: { masterKey: string; appId: string }; onChange: (s: { masterKey: string; appId: string } | undefined) => void }) {
  const { t } = useI18n();
  const [page, setPage] = useState<Page>(pageFromPath);
  const [apps, setApps] = useState<Array<{ id: string; name: string }>>([]);
  const client = useMemo(() => new ConsoleApi(session.masterKey, session.appId), [session]);

  useEffect(() => {
    void api<{ apps: Array<{ id: string; name: string }> }>('GET', '/admin/apps', { token: session.masterKey }).then((r) => setApps(r.apps), () => setApps([]));
  }, [session.masterKey]);
  useEffect(() => {
    const onPop = () => setPage(pageFromPath());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const go = (p: Page) => {
    history.pushState(null, '', `/console/${p}`);
    setPage(p);
  };

  return (
    <div className="console">
      <header className="topbar">
        <span className="brand">{t('console.title')}</span>
        <label className="inline">
          <span>{t('console.app')}</span>
          <select value={session.appId} onChange={(e) => onChange({ ...session, appId: e.target.value })}>
            {(apps.length ? apps : [{ id: session.appId, name: session.appId }]).map((a) => <option key={a.id} value={a.id}>{a.name} ({a.id})</option>)}
          </select>
        </label>
        <span className="spacer" />
        <a href="/">{t('console.toChat')}</a>
        <LanguageSwitch />
        <button type="button" className="link" onClick={() => onChange(undefined)}>{t('signout')}</button>
      </header>
      <div className="console-body">
        <nav className="console-nav" aria-label={t('console.title')}>
          <ul>
            {PAGES.map((p) => (
              <li key={p}>
                <a href={`/console/${p}`} aria-current={p === page ? 'page' : undefined} onClick={(e) => { e.preventDefault(); go(p); }}>
                  {t(`console.nav.${p}`)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main className="console-main" key={session.appId}>
          {page === 'models' && <ModelsPage client={client} />}
          {page === 'agents' && <AgentsPage client={client} />}
          {page === 'knowledge' && <KnowledgePage client={client} />}
          {page === 'usage' && <UsagePage client={client} />}
          {page === 'support' && <SupportPage client={client} />}
          {page === 'keys' && <KeysPage client={client} />}
          {page === 'providers' && <ProvidersPage client={client} />}
          {page === 'guardrails' && <GuardrailsPage client={client} />}
          {page === 'audit' && <AuditPage client={client} />}
          {page === 'privacy' && <PrivacyPage client={client} />}
          {page === 'encryption' && <EncryptionPage client={client} />}
          {page === 'experiments' && <ExperimentsPage client={client} />}
          {page === 'webhooks' && <WebhooksPage client={client} />}
        </main>
      </div>
    </div>
  );
}

function ConsoleSignIn({ onSignedIn }: { onSignedIn: (s: { masterKey: string; appId: string }) => void }) {
  const { t } = useI18n();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const { apps } = await api<{ apps: Array<{ id: string }> }>('GET', '/admin/apps', { token: key.trim() });
      onSignedIn({ masterKey: key.trim(), appId: apps.find((a) => a.id === 'default')?.id ?? apps[0]?.id ?? 'default' });
    } catch (err) {
      setError(t('signin.failed', { message: errorText(err) }));
    }
  };
  return (
    <main className="signin">
      <form className="card" onSubmit={submit}>
        <div className="signin-top">
          <h1>{t('console.signin')}</h1>
          <LanguageSwitch />
        </div>
        <label className="field">
          <span>{t('console.masterKey')}</span>
          <input type="password" name="master-key" value={key} onChange={(e) => setKey(e.target.value)} autoFocus autoComplete="current-password" />
        </label>
        <p className="hint">{t('console.masterKey.hint')}</p>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={!key.trim()}>{t('signin.go')}</button>
        <div className="signin-alt"><a href="/">{t('console.toChat')}</a></div>
      </form>
    </main>
  );
}
