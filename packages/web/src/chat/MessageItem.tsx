import type { Message, MessageContent } from '@warbler/sdk';
import { useEffect, useMemo, useRef, useState, type CSSProperties, type MouseEvent } from 'react';
import { renderMarkdown } from '../markdown.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { CitationDialog, headingOf, type Citation } from './CitationDialog.tsx';
import { useI18n } from '../ui/i18n.tsx';
import { FileIcon, StopIcon, ThumbDown, ThumbUp } from '../ui/icons.tsx';
import { Avatar } from './Avatar.tsx';
import { formatBytes, mentionsMe, preview, textOf, type ReceiptState } from './logic.ts';
import type { ChatStore } from './store.ts';

function citationsOf(message: Message): Citation[] {
  const list = message.content.citations;
  return Array.isArray(list) ? (list as Citation[]).filter((c) => typeof c?.index === 'number') : [];
}

// Shared with the support inbox, which lists sources the same way.
export { headingOf };

/** Offered in one tap (the protocol's QUICK_REACTIONS; the server takes any single emoji). */
const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
/** How long a press on a phone must last to open the reaction bar. */
const LONG_PRESS_MS = 450;

export function MessageItem({ store, message, mine, showSender, grouped = false, receipt, group, flash = false }: {
  store: ChatStore;
  message: Message;
  mine: boolean;
  showSender: boolean;
  /** Continues the block of the message above (same sender, a few minutes apart): drawn closer to it. */
  grouped?: boolean;
  receipt: { state: ReceiptState; readBy: number } | undefined;
  group: boolean;
  /** Just opened from a search result: highlighted for a moment. */
  flash?: boolean;
}) {
  const { t, locale } = useI18n();
  const [editing, setEditing] = useState(false);
  const [menu, setMenu] = useState(false);
  const [cite, setCite] = useState<Citation>();
  const [reacting, setReacting] = useState(false);
  const press = useRef<ReturnType<typeof setTimeout>>(undefined);
  const canReact = message.state === 'complete' || message.state === 'failed';
  const sender = store.people.get(message.sender_id);
  const isAgent = sender?.kind === 'agent';
  const citations = citationsOf(message);
  // The knowledge base's citation style: footnotes show each passage under the reply (numbered is the default).
  const footnotes = message.content.citation_style === 'footnotes';
  const streaming = message.state === 'streaming';
  const recalled = message.state === 'recalled';
  const failed = message.state === 'failed';
  const error = message.content.error as { code?: string; message?: string } | undefined;
  const stopped = message.content.stopped === true || error?.code === 'stopped';
  const rating = (message.content.feedback as Record<string, string> | undefined)?.[store.me];

  const openCitation = (n: number) => setCite(citations.find((c) => c.index === n));
  const onBodyClick = (e: MouseEvent<HTMLDivElement>) => {
    const a = (e.target as HTMLElement).closest('a.cite');
    if (!a) return;
    e.preventDefault();
    openCitation(Number(a.getAttribute('data-cite')));
  };

  return (
    <article
      className={`message ${mine ? 'mine' : 'theirs'} ${isAgent ? 'from-agent' : ''} ${grouped ? 'grouped' : ''} ${!mine && mentionsMe(message.content, store.me) ? 'mentions-me' : ''} ${flash ? 'flash' : ''} state-${message.state}`}
      data-testid="message"
      data-seq={message.seq}
      data-id={message.id}
      data-state={message.state}
      data-type={message.type}
      data-sender={message.sender_id}
      data-deltas={store.deltas.get(message.id) ?? 0}
      aria-label={`${mine ? t('list.you') : store.nameOf(message.sender_id)}`}
      data-flash={flash || undefined}
      // A long press on a phone opens the reaction bar (a right-click does too, instead of the browser's menu).
      onTouchStart={() => { if (canReact) press.current = setTimeout(() => setReacting(true), LONG_PRESS_MS); }}
      onTouchEnd={() => clearTimeout(press.current)}
      onTouchMove={() => clearTimeout(press.current)}
      onContextMenu={(e) => { if (canReact && !(e.target as HTMLElement).closest('a, img')) { e.preventDefault(); setReacting(true); } }}
    >
      {!mine && (group || isAgent) && <span className="message-avatar">{showSender && <Avatar name={store.nameOf(message.sender_id)} agent={isAgent} small />}</span>}
      <div className="bubble-wrap">
        {showSender && <div className="sender">{store.nameOf(message.sender_id)}</div>}
        <div className={`bubble ${failed ? 'failed' : ''}`}>
          {!recalled && <Quote store={store} message={message} />}
          {recalled ? <p className="recalled">{t('msg.recalled')}</p>
            : editing ? <EditBox initial={textOf(message)} onCancel={() => setEditing(false)} onSave={(text) => { setEditing(false); void store.edit(message.id, text); }} />
            : <Body store={store} message={message} citations={citations} footnotes={footnotes} onClick={onBodyClick} />}
          {streaming && <span className="caret" aria-hidden="true" />}
          {failed && error?.message && !stopped && textOf(message) !== error.message && <p className="error-note">{error.message}</p>}
          {citations.length > 0 && !recalled && (
            <div className={`sources ${footnotes ? 'footnotes' : ''}`} data-testid="sources">
              <span className="sources-label">{t(footnotes ? 'cite.footnotes' : 'msg.sources')}</span>
              <ol>
                {citations.map((c) => (
                  <li key={c.index}>
                    <a href={`#cite-${message.id}-${c.index}`} className="source-link" data-testid="citation" onClick={(e) => { e.preventDefault(); openCitation(c.index); }}>
                      {footnotes ? <sup>{c.index}</sup> : `[${c.index}]`} {c.title}{headingOf(c) ? ` › ${headingOf(c)}` : ''}
                    </a>
                    {footnotes && c.snippet && <span className="footnote-text">{firstLine(c.snippet)}</span>}
                  </li>
                ))}
              </ol>
            </div>
          )}
          {cite && <CitationDialog messageId={message.id} citation={cite} token={store.token} onClose={() => setCite(undefined)} />}
        </div>
        {!recalled && <ReactionChips store={store} message={message} />}
        {reacting && canReact && <ReactionBar store={store} message={message} onDone={() => setReacting(false)} />}
        <div className="meta">
          <time dateTime={new Date(message.created_at).toISOString()}>{new Date(message.created_at).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })}</time>
          {message.edited_at && !recalled && <span>· {t('msg.edited')}</span>}
          {stopped && <span>· {t('msg.stopped')}</span>}
          {failed && !stopped && <span className="error-text">· {t('msg.failed')}</span>}
          {receipt && <span className={`receipt ${receipt.state}`} data-testid="receipt" data-receipt={receipt.state}>
            · {receipt.state === 'read' ? (group ? t('msg.readBy', { count: receipt.readBy }) : t('msg.read')) : receipt.state === 'delivered' ? t('msg.delivered') : t('msg.sent')}
          </span>}
          {streaming && isAgent && (
            <button type="button" className="stop" data-testid="stop" onClick={() => void store.stopReply(message.id)}><StopIcon /> {t('msg.stop')}</button>
          )}
          {!streaming && !recalled && message.state !== 'failed' && (
            <button type="button" className="icon reply" aria-label={t('msg.reply')} title={t('msg.reply')} data-testid="reply"
              onClick={() => { store.startReply(message.conversation_id, message.id); document.getElementById('composer')?.focus(); }}>↩</button>
          )}
          {canReact && (
            <button type="button" className="icon react" aria-label={t('react.add')} title={t('react.add')} aria-expanded={reacting} data-testid="react"
              onClick={() => setReacting(!reacting)}>☺</button>
          )}
          {isAgent && !streaming && !recalled && (
            <span className="feedback">
              <button type="button" className="icon" aria-pressed={rating === 'up'} aria-label={t('msg.good')} title={t('msg.good')} data-testid="thumbs-up"
                onClick={() => void store.rate(message, rating === 'up' ? null : 'up')}><ThumbUp /></button>
              <button type="button" className="icon" aria-pressed={rating === 'down'} aria-label={t('msg.bad')} title={t('msg.bad')} data-testid="thumbs-down"
                onClick={() => void store.rate(message, rating === 'down' ? null : 'down')}><ThumbDown /></button>
            </span>
          )}
          {mine && !recalled && !editing && (
            <span className="message-actions">
              <button type="button" className="icon" aria-expanded={menu} aria-label={t('msg.actions')} onClick={() => setMenu(!menu)}>⋯</button>
              {menu && (
                <span className="menu">
                  {message.type === 'text' && message.state === 'complete' && <button type="button" onClick={() => { setMenu(false); setEditing(true); }}>{t('msg.edit')}</button>}
                  <button type="button" onClick={() => { setMenu(false); void store.recall(message.id); }}>{t('msg.recall')}</button>
                </span>
              )}
            </span>
          )}
        </div>
      </div>
    </article>
  );
}

/** A passage's opening words, for a footnote under the reply (the dialog shows it whole). */
function firstLine(snippet: string): string {
  const line = snippet.split('\n').map((l) => l.replace(/^[#>*\-\s`|]+/, '').trim()).find(Boolean) ?? '';
  return line.length > 140 ? `${line.slice(0, 139)}…` : line;
}

function Body({ store, message, citations, footnotes, onClick }: {
  store: ChatStore; message: Message; citations: Citation[]; footnotes: boolean; onClick: (e: MouseEvent<HTMLDivElement>) => void;
}) {
  const { t } = useI18n();
  const [preview, setPreview] = useState(false);
  const text = textOf(message);
  const citedKey = citations.map((c) => c.index).join(',');
  const cited = useMemo(() => new Set(citedKey ? citedKey.split(',').map(Number) : []), [citedKey]);
  const html = useMemo(() => (message.type === 'text' ? renderMarkdown(text, cited, { footnotes }) : ''), [message.type, text, cited, footnotes]);
  const c = message.content as { file_id?: string; name?: string; size?: number; mime?: string; width?: number; height?: number; caption?: string };

  if (message.type === 'image' && c.file_id) {
    const src = store.fileUrl(c.file_id);
    // Until its link has arrived the image is a placeholder that cannot be opened yet.
    if (!src) return <span className="image-thumb loading" aria-busy="true" style={thumbBox(c.width, c.height)} />;
    return (
      <>
        <button type="button" className="image-thumb" onClick={() => setPreview(true)} aria-label={`${t('msg.preview')}: ${c.name ?? ''}`}>
          <img src={src} alt={c.name ?? t('msg.image')} loading="lazy" width={c.width} height={c.height} />
        </button>
        {preview && (
          <Dialog title={c.name ?? t('msg.preview')} onClose={() => setPreview(false)} className="lightbox">
            <img src={src} alt={c.name ?? t('msg.image')} />
            <a href={src} download={c.name}>{t('msg.download')}</a>
          </Dialog>
        )}
      </>
    );
  }
  if (message.type === 'file' && c.file_id) {
    return (
      <a className="file" href={store.fileUrl(c.file_id)} download={c.name}>
        <FileIcon />
        <span>{c.name ?? t('msg.file')}</span>
        {typeof c.size === 'number' && <span className="hint">{formatBytes(c.size)}</span>}
      </a>
    );
  }
  if (message.type === 'system') return <p className="system">{text}</p>;
  // Sanitised by renderMarkdown (marked + DOMPurify): see markdown.ts.
  return <Markdown html={html} onClick={onClick} copyLabel={t('msg.copyCode')} copiedLabel={t('msg.copied')} />;
}

/**
 * Rendered Markdown with a copy button on each code block. The buttons are added to the sanitised
 * HTML after it is in the page (React does not own that subtree), so DOMPurify never has to allow buttons.
 */
function Markdown({ html, onClick, copyLabel, copiedLabel }: { html: string; onClick: (e: MouseEvent<HTMLDivElement>) => void; copyLabel: string; copiedLabel: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    for (const pre of ref.current?.querySelectorAll('pre') ?? []) {
      if (pre.querySelector(':scope > button.copy-code')) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy-code';
      button.textContent = copyLabel;
      button.addEventListener('click', () => {
        const code = pre.querySelector('code')?.textContent ?? pre.textContent ?? '';
        void navigator.clipboard?.writeText(code).then(() => {
          button.textContent = copiedLabel;
          setTimeout(() => { button.textContent = copyLabel; }, 2_000);
        });
      });
      pre.append(button);
    }
  }, [html, copyLabel, copiedLabel]);
  return <div ref={ref} className="markdown" onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave: (text: string) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [text, setText] = useState(initial);
  const save = () => {
    const trimmed = text.trim();
    if (trimmed && trimmed !== initial) onSave(trimmed);
    else onCancel();
  };
  return (
    <div className="edit-box">
      <textarea
        aria-label={t('msg.edit')}
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onCancel();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            save();
          }
        }}
      />
      <div className="actions">
        <button type="button" onClick={onCancel}>{t('dialog.cancel')}</button>
        <button type="button" className="primary" onClick={save}>{t('msg.save')}</button>
      </div>
    </div>
  );
}

/** Largest side of an image in the list (px); styles.css bounds the <img> the same way. */
const THUMB_MAX = 280;

/**
 * The box an image will take, from the size stored with the message, so the
 * list does not grow (and leave the reader short of the newest message) when
 * the link or the image arrives.
 */
function thumbBox(width?: number, height?: number): CSSProperties | undefined {
  if (!width || !height) return undefined;
  const scale = Math.min(1, THUMB_MAX / width, THUMB_MAX / height);
  return { width: Math.round(width * scale), height: 'auto', aspectRatio: `${width} / ${height}`, maxWidth: '60vw' };
}

/** A message still on its way (or refused): shown as sent, marked as waiting. */
export function PendingItem({ content, type, error }: { content: MessageContent; type: string; error?: string }) {
  const { t } = useI18n();
  const text = typeof content.text === 'string' ? content.text : type === 'image' ? `[${t('msg.image')}]` : `[${t('msg.file')}]`;
  const html = useMemo(() => renderMarkdown(text), [text]);
  return (
    <article className={`message mine pending ${error ? 'refused' : ''}`} data-testid="pending-message" data-state={error ? 'refused' : 'pending'}>
      <div className="bubble-wrap">
        <div className="bubble"><div className="markdown" dangerouslySetInnerHTML={{ __html: html }} /></div>
        <div className="meta">{error ? <span className="error-text">{t('msg.notSent', { message: error })}</span> : <span>{t('msg.sending')}</span>}</div>
      </div>
    </article>
  );
}

/** The message this one answers, above its text; a click brings it into view when it is loaded. */
function Quote({ store, message }: { store: ChatStore; message: Message }) {
  const { t } = useI18n();
  const ref = message.content.reply_to as { message_id?: unknown; sender_id?: unknown } | undefined;
  if (typeof ref?.message_id !== 'string') return null;
  const quoted = store.held(message.conversation_id, ref.message_id);
  const sender = typeof ref.sender_id === 'string' ? store.nameOf(ref.sender_id) : '';
  const labels = { image: t('msg.image'), file: t('msg.file'), recalled: t('msg.recalled') };
  const jump = () => {
    const el = document.querySelector<HTMLElement>(`[data-testid="message"][data-id="${CSS.escape(ref.message_id as string)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 1_500);
  };
  return (
    <button type="button" className="quote" data-testid="quote" onClick={jump} aria-label={t('msg.quoteOf', { name: sender })}>
      <strong>{sender}</strong>
      <span>{quoted ? preview(quoted, labels) : t('msg.quoteEarlier')}</span>
    </button>
  );
}

/** The reactions under a message: one chip per emoji with its count; mine are pressed, and a press takes mine back or adds it. */
function ReactionChips({ store, message }: { store: ChatStore; message: Message }) {
  const { t } = useI18n();
  const reactions = store.reactionsOf(message);
  if (reactions.length === 0) return null;
  return (
    <div className="reactions" data-testid="reactions">
      {reactions.map((r) => {
        const mine = r.user_ids.includes(store.me);
        const names = r.user_ids.map((id) => (id === store.me ? t('list.you') : store.nameOf(id))).join(', ') + (r.count > r.user_ids.length ? ` +${r.count - r.user_ids.length}` : '');
        return (
          <button key={r.emoji} type="button" className={`reaction-chip ${mine ? 'mine' : ''}`} aria-pressed={mine} data-testid="reaction-chip" data-emoji={r.emoji}
            aria-label={t('react.chip', { emoji: r.emoji, count: r.count, names })} title={names}
            onClick={() => void store.toggleReaction(message, r.emoji)}>
            <span aria-hidden="true">{r.emoji}</span> <span className="count" aria-hidden="true">{r.count}</span>
          </button>
        );
      })}
    </div>
  );
}

/** A few emoji in one tap; Escape or a pick closes it. */
function ReactionBar({ store, message, onDone }: { store: ChatStore; message: Message; onDone: () => void }) {
  const { t } = useI18n();
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div className="reaction-bar" role="toolbar" aria-label={t('react.bar')} data-testid="reaction-bar"
      onKeyDown={(e) => { if (e.key === 'Escape') onDone(); }}>
      {QUICK_REACTIONS.map((emoji, i) => (
        <button key={emoji} ref={i === 0 ? first : undefined} type="button" className="icon" aria-label={t('react.with', { emoji })} data-emoji={emoji}
          onClick={() => { onDone(); void store.toggleReaction(message, emoji); }}>{emoji}</button>
      ))}
      <button type="button" className="icon" aria-label={t('dialog.close')} onClick={onDone}>×</button>
    </div>
  );
}
