import { useState } from 'react';
import { formatListTime } from '../i18n.ts';
import { useI18n } from '../ui/i18n.tsx';
import { preview } from './logic.ts';
import { PeoplePicker } from './PeoplePicker.tsx';
import type { ChatStore } from './store.ts';
import { Avatar } from './Avatar.tsx';
import { BellOffIcon, PinIcon } from '../ui/icons.tsx';
import { MessageSearchBox, MessageSearchResults } from './MessageSearch.tsx';

export function ConversationList({ store, openId, onOpen }: { store: ChatStore; openId: string | undefined; onOpen: (id: string) => void }) {
  const { t, locale } = useI18n();
  const [dialog, setDialog] = useState<'direct' | 'group'>();
  const [query, setQuery] = useState('');
  const list = store.sortedConversations();
  const labels = { image: t('msg.image'), file: t('msg.file'), recalled: t('msg.recalled') };

  return (
    <nav className="sidebar" aria-label={t('list.title')}>
      <div className="sidebar-head">
        <h2>{t('list.title')}</h2>
        <button type="button" onClick={() => setDialog('direct')}>{t('list.new')}</button>
        <button type="button" onClick={() => setDialog('group')}>{t('list.newGroup')}</button>
      </div>
      <MessageSearchBox query={query} onQuery={setQuery} />
      {query.trim() && (
        <MessageSearchResults store={store} query={query} onPick={(hit) => {
          onOpen(hit.conversation_id);
          void store.reveal(hit.conversation_id, hit.seq);
        }} />
      )}
      {!query.trim() && store.listLoaded && list.length === 0 && <p className="hint pad">{t('list.empty')}</p>}
      <ul className="conversations" data-testid="conversation-list" id="conversation-list" tabIndex={-1} hidden={query.trim() !== ''}>
        {list.map((c) => {
          const last = store.lastMessageOf(c.id);
          const title = store.titleOf(c.id);
          const who = last ? (last.sender_id === store.me ? t('list.you') : store.nameOf(last.sender_id)) : '';
          const peer = store.peerOf(c.id);
          return (
            <li key={c.id}>
              <button
                type="button"
                className={`conversation-item ${c.id === openId ? 'active' : ''}`}
                aria-current={c.id === openId ? 'true' : undefined}
                data-conversation={c.id}
                onClick={() => onOpen(c.id)}
              >
                <Avatar name={title} agent={peer?.kind === 'agent'} group={c.kind === 'group'} />
                <span className="conversation-main">
                  <span className="conversation-top">
                    <span className="conversation-title">{title}</span>
                    {c.pinned && <span className="conv-flag" role="img" aria-label={t('list.pinned')} title={t('list.pinned')} data-testid="pinned-flag"><PinIcon size={14} /></span>}
                    {c.muted && <span className="conv-flag" role="img" aria-label={t('list.muted')} title={t('list.muted')} data-testid="muted-flag"><BellOffIcon size={14} /></span>}
                    {c.last_activity > 0 && <time className="time" dateTime={new Date(c.last_activity).toISOString()}>{formatListTime(c.last_activity, locale)}</time>}
                  </span>
                  <span className="conversation-bottom">
                    <span className="preview">{last ? `${c.kind === 'group' || last.sender_id === store.me ? `${who}: ` : ''}${preview(last, labels)}` : t('list.noMessages')}</span>
                    {c.unread > 0 && <span className={`badge ${c.muted ? 'badge-muted' : ''}`} aria-label={t('list.unread', { count: c.unread })} data-testid="unread">{c.unread > 99 ? '99+' : c.unread}</span>}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {dialog && (
        <PeoplePicker
          store={store}
          mode={dialog}
          onClose={() => setDialog(undefined)}
          onPicked={async (ids, title) => {
            const id = dialog === 'direct' ? await store.startDirect(ids[0]!) : await store.createGroup(title, ids);
            setDialog(undefined);
            onOpen(id);
          }}
        />
      )}
    </nav>
  );
}
