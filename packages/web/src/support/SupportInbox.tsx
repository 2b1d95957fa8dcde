import type { Message, SupportConversation, SupportNote } from '@warbler/sdk';
import { supportAuthor } from '@warbler/sdk';
import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { textOf } from '../chat/logic.ts';
import { headingOf } from '../chat/MessageItem.tsx';
import type { ChatStore } from '../chat/store.ts';
import { formatListTime, type MessageKey } from '../i18n.ts';
import { renderMarkdown } from '../markdown.ts';
import { useI18n } from '../ui/i18n.tsx';
import { useStore } from '../ui/useStore.ts';
import { allowedActions, inboxSections, type InboxSection } from './inbox-order.ts';
import type { InboxStore } from './inbox-store.ts';

const SECTION_TITLE: Record<InboxSection, MessageKey> = {
  waiting: 'inbox.section.waiting',
  mine: 'inbox.section.mine',
  others: 'inbox.section.others',
  bot: 'inbox.section.bot',
  done: 'inbox.section.done',
};

/** The support user's inbox: queues on the left, the open conversation on the right (one at a time on a phone). */
export function SupportInbox({ chat, inbox, openId, onOpen }: { chat: ChatStore; inbox: InboxStore; openId: string | undefined; onOpen: (id: string | undefined) => void }) {
  useStore(inbox);
  useStore(chat);
  useEffect(() => {
    void inbox.open(openId);
  }, [inbox, openId]);
  return (
    <div className={`panes support-inbox ${openId ? 'has-open' : ''}`}>
      <Queues chat={chat} inbox={inbox} openId={openId} onOpen={onOpen} />
      {openId && inbox.row(openId)
        ? <Detail key={openId} chat={chat} inbox={inbox} row={inbox.row(openId)!} onBack={() => onOpen(undefined)} />
        : <section className="conversation empty-state"><p>{openId ? '…' : <PickHint />}</p></section>}
    </div>
  );
}

function PickHint() {
  const { t } = useI18n();
  return <>{t('inbox.pick')}</>;
}

function Queues({ chat, inbox, openId, onOpen }: { chat: ChatStore; inbox: InboxStore; openId: string | undefined; onOpen: (id: string) => void }) {
  const { t, locale } = useI18n();
  const sections = inboxSections(inbox.rows.values(), inbox.me);
  return (
    <nav className="sidebar" aria-label={t('inbox.title')}>
      <div className="sidebar-head">
        <h2>{t('inbox.title')}</h2>
        <label className="check support-sound">
          <input type="checkbox" checked={inbox.sound} onChange={(e) => inbox.setSound(e.target.checked)} data-testid="support-sound" />
          {t('inbox.sound')}
        </label>
      </div>
      {inbox.loaded && sections.length === 0 && <p className="hint pad">{t('inbox.empty')}</p>}
      <div className="support-queues" data-testid="support-queue" id="support-queue" tabIndex={-1} data-chimes={inbox.chimes}>
        {sections.map(({ section, rows }) => (
          <section key={section} aria-labelledby={`support-section-${section}`} data-section={section}>
            <h3 className="support-section-title" id={`support-section-${section}`}>{t(SECTION_TITLE[section])} <span className="count">({rows.length})</span></h3>
            <ul className="conversations">
              {rows.map((r) => (
                <li key={r.conversation_id}>
                  <button type="button" className={`conversation-item ${r.conversation_id === openId ? 'active' : ''}`} aria-current={r.conversation_id === openId ? 'true' : undefined}
                    data-support-conversation={r.conversation_id} data-status={r.status} onClick={() => onOpen(r.conversation_id)}>
                    <span className="conversation-main">
                      <span className="conversation-top">
                        <span className="conversation-title">{chat.nameOf(r.customer_id)}</span>
                        <time className="time" dateTime={new Date(r.updated_at).toISOString()}>{formatListTime(r.updated_at, locale)}</time>
                      </span>
                      <span className="conversation-bottom">
                        <span className="preview">{describeRow(r, chat, inbox.me, t)}</span>
                        <StatusBadge status={r.status} />
                      </span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </nav>
  );
}

type T = ReturnType<typeof useI18n>['t'];

function describeRow(r: SupportConversation, chat: ChatStore, me: string, t: T): string {
  if (r.status === 'human' || (r.status === 'pending_human' && r.assignee_id)) {
    return r.assignee_id === me ? t('inbox.heldByMe') : t('inbox.heldBy', { name: chat.nameOf(r.assignee_id!) });
  }
  if (r.status === 'pending_human' && r.handoff_reason) return t(`inbox.reason.${r.handoff_reason}` as MessageKey);
  if (r.outcome) return t(`inbox.outcome.${r.outcome}` as MessageKey);
  return t('inbox.withAi');
}

function StatusBadge({ status }: { status: SupportConversation['status'] }) {
  const { t } = useI18n();
  return <span className={`support-status status-${status}`} data-testid="support-status" data-status={status}>{t(`inbox.status.${status}` as MessageKey)}</span>;
}

type Entry = { kind: 'message'; at: number; message: Message } | { kind: 'note'; at: number; note: SupportNote };

function Detail({ chat, inbox, row, onBack }: { chat: ChatStore; inbox: InboxStore; row: SupportConversation; onBack: () => void }) {
  const { t } = useI18n();
  const id = row.conversation_id;
  const can = allowedActions(row, inbox.me);
  const entries = useMemo<Entry[]>(() => [
    ...inbox.thread.map((message) => ({ kind: 'message' as const, at: message.created_at, message })),
    ...inbox.notes.map((note) => ({ kind: 'note' as const, at: note.created_at, note })),
  ].sort((a, b) => a.at - b.at), [inbox.thread, inbox.notes]);
  const bottom = useRef<HTMLLIElement>(null);
  // Braces: newer Chromium's scrollIntoView returns a promise, which React would take for a cleanup.
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [entries.length]);

  return (
    <section className="conversation support-detail" aria-labelledby="support-detail-title" data-testid="support-detail" data-conversation={id}>
      <header className="conversation-head">
        <button type="button" className="icon back" aria-label={t('conv.back')} onClick={onBack}>‹</button>
        <h2 className="conversation-name" id="support-detail-title">{chat.nameOf(row.customer_id)}</h2>
        <StatusBadge status={row.status} />
      </header>
      <div className="support-facts hint">
        {row.handoff_reason && <span>{t('inbox.handedOff', { reason: t(`inbox.reason.${row.handoff_reason}` as MessageKey) })}</span>}
        {row.assignee_id && <span>{row.assignee_id === inbox.me ? t('inbox.heldByMe') : t('inbox.heldBy', { name: chat.nameOf(row.assignee_id) })}</span>}
        {row.outcome && <span>{t(`inbox.outcome.${row.outcome}` as MessageKey)}</span>}
        {row.csat && <span data-testid="support-csat">{t('inbox.csat', { rating: row.csat.rating })}</span>}
      </div>
      <div className="support-actions" role="toolbar" aria-label={t('inbox.actions')}>
        {can.claim && <button type="button" className="primary" disabled={inbox.busy} onClick={() => void inbox.claim(id)}>{t('inbox.claim')}</button>}
        {can.handBack && <button type="button" disabled={inbox.busy} onClick={() => void inbox.handBack(id)}>{t('inbox.handBack')}</button>}
        {can.resolve && <button type="button" disabled={inbox.busy} onClick={() => void inbox.resolve(id)}>{t('inbox.resolve')}</button>}
        {can.resolve && <AssignControl chat={chat} inbox={inbox} row={row} />}
      </div>
      {inbox.error && (
        <div className="banner error" role="alert">
          {inbox.error} <button type="button" className="icon" aria-label={t('dialog.close')} onClick={() => inbox.dismissError()}>×</button>
        </div>
      )}
      <ol className="messages support-thread" aria-label={t('inbox.thread')} data-testid="support-thread">
        {entries.map((e) => e.kind === 'note'
          ? <NoteItem key={e.note.id} chat={chat} note={e.note} />
          : <SupportMessage key={e.message.id} chat={chat} row={row} message={e.message} me={inbox.me} />)}
        <li ref={bottom} aria-hidden="true" className="support-end" />
      </ol>
      <SupportComposer inbox={inbox} id={id} canReply={can.reply} open={row.status !== 'resolved' && row.status !== 'closed'} hasAgent={row.agent_id !== null} />
    </section>
  );
}

interface Citation { index: number; title?: string; heading?: string }

/** Give the conversation to a colleague (a transfer when I hold it: I leave it). */
function AssignControl({ chat, inbox, row }: { chat: ChatStore; inbox: InboxStore; row: SupportConversation }) {
  const { t } = useI18n();
  const [to, setTo] = useState('');
  const choices = inbox.colleagues.filter((id) => id !== row.assignee_id);
  if (choices.length === 0) return null;
  return (
    <span className="support-assign">
      <select aria-label={t('inbox.assignTo')} value={to} onChange={(e) => setTo(e.target.value)} data-testid="support-assign">
        <option value="">{t('inbox.assignTo')}</option>
        {choices.map((id) => <option key={id} value={id}>{chat.nameOf(id)}</option>)}
      </select>
      <button type="button" disabled={!to || inbox.busy} onClick={() => void inbox.assignTo(row.conversation_id, to).then(() => setTo(''))}>
        {row.assignee_id === inbox.me ? t('inbox.transfer') : t('inbox.assign')}
      </button>
    </span>
  );
}

function SupportMessage({ chat, row, message, me }: { chat: ChatStore; row: SupportConversation; message: Message; me: string }) {
  const { t } = useI18n();
  const author = supportAuthor(row, message);
  const text = textOf(message);
  const citations = (Array.isArray(message.content.citations) ? message.content.citations as Citation[] : []).filter((c) => typeof c?.index === 'number');
  const html = useMemo(() => (message.type === 'text' ? renderMarkdown(text, new Set(citations.map((c) => c.index))) : ''), [message.type, text, citations.length]);
  if (author === 'system') return <li className="support-system" data-testid="support-message" data-author="system"><p className="system">{text}</p></li>;
  const who = author === 'customer' ? chat.nameOf(row.customer_id)
    : author === 'ai' ? t('inbox.ai', { name: chat.nameOf(row.agent_id) })
    : message.sender_id === me ? t('list.you') : chat.nameOf(message.sender_id);
  return (
    <li className={`message support-${author} ${author === 'customer' ? '' : 'mine'} ${author === 'ai' ? 'from-agent' : ''}`}
      data-testid="support-message" data-author={author} data-state={message.state}>
      <div className="bubble-wrap">
        <span className="sender">{who}</span>
        <div className="bubble">
          {message.type === 'text'
            // Sanitised by renderMarkdown (marked + DOMPurify): see markdown.ts.
            ? <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />
            : <p className="system">{message.type === 'image' ? t('msg.image') : t('msg.file')}</p>}
          {message.state === 'streaming' && <span className="caret" aria-hidden="true" />}
          {message.content.stopped === true && <p className="hint">{t('inbox.stopped')}</p>}
          {citations.length > 0 && (
            <div className="sources">
              <span className="sources-label">{t('msg.sources')}</span>
              <ol>{citations.map((c) => <li key={c.index} data-testid="support-citation">[{c.index}] {c.title}{headingOf(c) ? ` › ${headingOf(c)}` : ''}</li>)}</ol>
            </div>
          )}
        </div>
      </div>
    </li>
  );
}

function NoteItem({ chat, note }: { chat: ChatStore; note: SupportNote }) {
  const { t } = useI18n();
  return (
    <li className="support-note" data-testid="support-note">
      <span className="support-note-label">{t('inbox.note.label', { name: chat.nameOf(note.author_id) })}</span>
      <p>{note.text}</p>
    </li>
  );
}

function SupportComposer({ inbox, id, canReply, open, hasAgent }: { inbox: InboxStore; id: string; canReply: boolean; open: boolean; hasAgent: boolean }) {
  const { t } = useI18n();
  const [mode, setMode] = useState<'reply' | 'note'>(canReply ? 'reply' : 'note');
  const [text, setText] = useState('');
  // Claiming makes replying possible: offer it at once; losing the conversation falls back to notes.
  useEffect(() => {
    setMode(canReply ? 'reply' : 'note');
  }, [canReply]);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const value = text.trim();
    if (!value || inbox.busy) return;
    if (mode === 'reply') await inbox.reply(id, value);
    else await inbox.addNote(id, value);
    if (!inbox.error) setText('');
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) void submit(e as unknown as FormEvent);
  };
  return (
    <form className={`support-composer mode-${mode}`} onSubmit={submit} data-testid="support-composer">
      <fieldset className="support-mode">
        <legend className="sr-only">{t('inbox.mode')}</legend>
        <label className="check">
          <input type="radio" name="support-mode" value="reply" checked={mode === 'reply'} disabled={!canReply} onChange={() => setMode('reply')} />
          {t('inbox.mode.reply')}
        </label>
        <label className="check">
          <input type="radio" name="support-mode" value="note" checked={mode === 'note'} onChange={() => setMode('note')} />
          {t('inbox.mode.note')}
        </label>
        {!canReply && open && <span className="hint">{t('inbox.claimToReply')}</span>}
      </fieldset>
      {canReply && (
        <div className="support-helpers">
          {inbox.canned.length > 0 && (
            <select aria-label={t('inbox.canned')} value="" data-testid="support-canned"
              onChange={(e) => { const c = inbox.canned.find((x) => x.id === e.target.value); if (c) setText((v) => (v.trim() ? `${v.trimEnd()}\n${c.text}` : c.text)); }}>
              <option value="">{t('inbox.canned')}</option>
              {inbox.canned.map((c) => <option key={c.id} value={c.id}>{c.title}</option>)}
            </select>
          )}
          {hasAgent && (
            <button type="button" disabled={inbox.busy} data-testid="support-suggest"
              onClick={() => void inbox.suggest(id).then((draft) => { if (draft) setText(draft); })}>{t('inbox.suggest')}</button>
          )}
        </div>
      )}
      <div className="support-compose-row">
        <textarea rows={2} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey} maxLength={8000}
          aria-label={mode === 'reply' ? t('inbox.replyBox') : t('inbox.noteBox')}
          placeholder={mode === 'reply' ? t('inbox.replyBox') : t('inbox.noteBox')} />
        <button type="submit" className="primary" disabled={inbox.busy || !text.trim()}>{mode === 'reply' ? t('inbox.send') : t('inbox.addNote')}</button>
      </div>
    </form>
  );
}
