import { useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { devSignIn, devSignInEnabled, loadSession, saveSession, tokenSignIn, type ChatSession } from '../session.ts';
import { LanguageSwitch, useI18n } from '../ui/i18n.tsx';
import { ChatShell } from './ChatShell.tsx';
import { clearChatCache } from './offline-cache.ts';

export function ChatApp() {
  const [session, setSession] = useState<ChatSession | undefined>(() => loadSession(localStorage));
  const signIn = (s: ChatSession) => {
    saveSession(localStorage, s);
    setSession(s);
  };
  const signOut = () => {
    if (session) clearChatCache(localStorage, session.userId);
    saveSession(localStorage, undefined);
    setSession(undefined);
  };
  if (!session) return <SignIn onSignedIn={signIn} />;
  return <ChatShell key={session.userId} session={session} onSignOut={signOut} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (s: ChatSession) => void }) {
  const { t, locale } = useI18n();
  const [byName, setByName] = useState<boolean | undefined>(undefined);
  const [withToken, setWithToken] = useState(false);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void devSignInEnabled().then((on) => {
      setByName(on);
      if (!on) setWithToken(true);
    });
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value.trim() || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(withToken ? await tokenSignIn(value.trim()) : await devSignIn(value.trim(), locale));
    } catch (err) {
      setError(t('signin.failed', { message: errorText(err) }));
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="card" onSubmit={submit}>
        <div className="signin-top">
          <h1>{t('signin.title')}</h1>
          <LanguageSwitch />
        </div>
        {byName === false && <p className="hint">{t('signin.byName.off')}</p>}
        <label className="field">
          <span>{withToken ? t('signin.token') : t('signin.byName')}</span>
          {withToken
            ? <textarea name="token" rows={3} value={value} onChange={(e) => setValue(e.target.value)} autoFocus spellCheck={false} />
            : <input name="name" value={value} onChange={(e) => setValue(e.target.value)} autoFocus autoComplete="nickname" maxLength={60} />}
        </label>
        <p className="hint">{withToken ? t('signin.token.hint') : t('signin.byName.hint')}</p>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy || !value.trim()}>{t('signin.go')}</button>
        <div className="signin-alt">
          {byName && (
            <button type="button" className="link" onClick={() => { setWithToken(!withToken); setValue(''); setError(undefined); }}>
              {withToken ? t('signin.withName') : t('signin.withToken')}
            </button>
          )}
          <a href="/console">{t('signin.console')}</a>
        </div>
      </form>
    </main>
  );
}
