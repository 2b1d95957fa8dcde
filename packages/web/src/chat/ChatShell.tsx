import { useEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../session.ts';
import { LanguageSwitch, useI18n } from '../ui/i18n.tsx';
import { useStore } from '../ui/useStore.ts';
import { ConversationList } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { tabTitle } from './logic.ts';
import { ChatStore } from './store.ts';

/** The signed-in chat: list on the left, the open conversation on the right (one at a time on a phone). */
export function ChatShell({ session, onSignOut }: { session: ChatSession; onSignOut: () => void }) {
  const { t } = useI18n();
  const signOut = useRef(onSignOut);
  signOut.current = onSignOut;
  const store = useMemo(() => new ChatStore(session, () => signOut.current()), [session]);
  useStore(store);
  const [openId, setOpenId] = useState<string | undefined>(() => new URLSearchParams(location.search).get('c') ?? undefined);

  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);

  useEffect(() => {
    void store.open(openId);
    const url = new URL(location.href);
    if (openId) url.searchParams.set('c', openId);
    else url.searchParams.delete('c');
    history.replaceState(null, '', url);
  }, [store, openId]);

  // A hidden tab says how much is unread (the favicon stays; the title is what the tab strip shows).
  const unread = [...store.conversations.values()].reduce((sum, c) => sum + (c.unread ?? 0), 0);
  useEffect(() => {
    document.title = tabTitle(t('app.name'), unread);
  }, [unread, t]);

  const { status } = store.status;
  const pending = store.pending.length;
  return (
    <div className={`chat ${openId ? 'has-open' : ''}`}>
      <a className="skip-link" href={openId ? '#composer' : '#conversation-list'}>{openId ? t('a11y.skipToComposer') : t('a11y.skipToList')}</a>
      <header className="topbar">
        <h1 className="brand">{t('app.name')}</h1>
        <span className="me" title={store.me}>{session.name}</span>
        <span className="spacer" />
        <LanguageSwitch />
        <button type="button" className="link" onClick={onSignOut}>{t('signout')}</button>
      </header>
      {(status === 'reconnecting' || store.offline) && (
        <div className="banner warn" role="status" data-testid="reconnecting">
          {store.offline ? t('status.offline') : t('status.reconnecting')}
          {pending + store.queuedUploads.length > 0 && ` · ${t('status.pending', { count: pending + store.queuedUploads.length })}`}
        </div>
      )}
      {status === 'closed' && store.status.reason === 'unauthorized' && (
        <div className="banner error" role="alert">
          {t('status.closed')} <button type="button" className="link" onClick={onSignOut}>{t('signout')}</button>
        </div>
      )}
      {store.lastError && (
        <div className="banner error" role="alert">
          {store.lastError} <button type="button" className="icon" aria-label={t('dialog.close')} onClick={() => store.dismissError()}>×</button>
        </div>
      )}
      <div className="panes">
        <ConversationList store={store} openId={openId} onOpen={setOpenId} />
        {openId
          ? <ConversationView key={openId} store={store} id={openId} onBack={() => setOpenId(undefined)} />
          : <section className="conversation empty-state"><p>{t('conv.pick')}</p></section>}
      </div>
    </div>
  );
}
