import { useEffect, useMemo, useRef, useState } from 'react';
import type { ChatSession } from '../session.ts';
import { InboxStore } from '../support/inbox-store.ts';
import { SupportInbox } from '../support/SupportInbox.tsx';
import { LanguageSwitch, useI18n } from '../ui/i18n.tsx';
import { useStore } from '../ui/useStore.ts';
import { ConversationList } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { unreadForTitle } from './conversation-order.ts';
import { preview, tabTitle } from './logic.ts';
import { NotificationSwitch } from './NotificationSwitch.tsx';
import { ChatStore } from './store.ts';

/** The signed-in chat: list on the left, the open conversation on the right (one at a time on a phone). */
export function ChatShell({ session, onSignOut }: { session: ChatSession; onSignOut: () => void }) {
  const { t } = useI18n();
  const signOut = useRef(onSignOut);
  signOut.current = onSignOut;
  const store = useMemo(() => new ChatStore(session, () => signOut.current()), [session]);
  useStore(store);
  const [openId, setOpenId] = useState<string | undefined>(() => new URLSearchParams(location.search).get('c') ?? undefined);
  // Support users also get the inbox (?inbox, ?inbox=<conversation>); everyone else never sees it.
  const inbox = useMemo(() => new InboxStore(store), [store]);
  useStore(inbox);
  const [inboxId, setInboxId] = useState<string | undefined | null>(() => {
    const q = new URLSearchParams(location.search);
    return q.has('inbox') ? (q.get('inbox') || undefined) : null;
  });
  const inInbox = inboxId !== null && inbox.staff === true;

  useEffect(() => {
    store.start();
    inbox.start();
    return () => {
      inbox.stop();
      store.stop();
    };
  }, [store, inbox]);

  useEffect(() => {
    if (inboxId === null) return;
    const url = new URL(location.href);
    url.searchParams.set('inbox', inboxId ?? '');
    history.replaceState(null, '', url);
  }, [inboxId]);

  useEffect(() => {
    void store.open(inInbox ? undefined : openId);
    const url = new URL(location.href);
    if (openId) url.searchParams.set('c', openId);
    else url.searchParams.delete('c');
    if (inboxId === null) url.searchParams.delete('inbox');
    history.replaceState(null, '', url);
  }, [store, openId, inInbox, inboxId]);

  // A notification reads in the user's language; a click on it opens its conversation (leaving the inbox).
  useEffect(() => {
    const labels = { image: t('msg.image'), file: t('msg.file'), recalled: t('msg.recalled') };
    store.describeForNotification = (m, conversationTitle) => {
      const sender = store.nameOf(m.sender_id);
      const direct = store.conversations.get(m.conversation_id)?.kind === 'direct';
      return { title: direct ? sender : t('notify.title', { name: sender, conversation: conversationTitle }), body: preview(m, labels) };
    };
    store.requestOpen = (id) => {
      setInboxId(null);
      setOpenId(id);
    };
    // The service worker's notifications (phones) are clicked outside this page: the worker says which conversation.
    return store.notifier.onWorkerClick((id) => store.requestOpen(id));
  }, [store, t]);

  // A hidden tab says how much is unread (the favicon stays; the title is what the tab strip shows); muted chats do not count.
  const unread = unreadForTitle(store.conversations.values());
  const waiting = inbox.staff ? inbox.waiting() : 0;
  useEffect(() => {
    document.title = tabTitle(t('app.name'), unread + waiting);
  }, [unread, waiting, t]);

  const { status } = store.status;
  const pending = store.pending.length;
  return (
    <div className={`chat ${(inInbox ? inboxId : openId) ? 'has-open' : ''} ${inInbox ? 'in-inbox' : ''}`}>
      {!inInbox && <a className="skip-link" href={openId ? '#composer' : '#conversation-list'}>{openId ? t('a11y.skipToComposer') : t('a11y.skipToList')}</a>}
      <header className="topbar">
        <h1 className="brand">{t('app.name')}</h1>
        <span className="me" title={store.me}>{session.name}</span>
        <span className="spacer" />
        {inbox.staff && (
          <button type="button" className="inbox-toggle" data-testid="inbox-toggle" onClick={() => setInboxId(inInbox ? null : undefined)}>
            {inInbox ? t('inbox.backToChats') : t('inbox.open')}
            {!inInbox && waiting > 0 && <span className="badge" data-testid="inbox-waiting">{waiting}<span className="sr-only"> {t('inbox.waiting')}</span></span>}
          </button>
        )}
        <NotificationSwitch store={store} />
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
      {inInbox ? <SupportInbox chat={store} inbox={inbox} openId={inboxId ?? undefined} onOpen={setInboxId} /> : (
        <div className="panes">
          <ConversationList store={store} openId={openId} onOpen={setOpenId} />
          {openId
            ? <ConversationView key={openId} store={store} id={openId} onBack={() => setOpenId(undefined)} />
            : <section className="conversation empty-state"><p>{t('conv.pick')}</p></section>}
        </div>
      )}
    </div>
  );
}
