import { Fragment, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useI18n } from '../ui/i18n.tsx';
import { errorMessage, type Locale, type Translate } from '../i18n.ts';
import { Avatar } from './Avatar.tsx';
import { BellIcon, BellOffIcon, PinIcon } from '../ui/icons.tsx';
import { Composer } from './Composer.tsx';
import { continuesBlock, receiptOf, startsNewDay } from './logic.ts';
import { MessageItem, PendingItem } from './MessageItem.tsx';
import { PeoplePicker } from './PeoplePicker.tsx';
import type { ChatStore } from './store.ts';

/** How close to the top (px) scrolling starts loading older messages. */
const LOAD_OLDER_AT = 120;

export function ConversationView({ store, id, onBack }: { store: ChatStore; id: string; onBack: () => void }) {
  const { t, locale } = useI18n();
  const [adding, setAdding] = useState(false);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  /** The list's height at the last layout, to tell a reader who scrolled away from one who is at the bottom when new content lands. */
  const lastHeight = useRef(0);
  // The newest seq the reader has seen at the bottom; what arrived after it while they read above is counted on the jump button.
  const [atBottom, setAtBottom] = useState(true);
  const seenSeq = useRef(0);
  /** Until when a jump to the latest is on its way: its smooth scroll passes through the top and the middle,
   * which must neither load an older page (whose kept place would stop the scroll) nor read as leaving the bottom. */
  const jumpingUntil = useRef(0);
  const jumping = () => performance.now() < jumpingUntil.current;
  /** Set while an older page is on its way: the height and first message before it, to keep the reader's place. */
  const before = useRef<{ height: number; firstSeq: number } | undefined>(undefined);

  const conv = store.conversations.get(id);
  const thread = store.thread(id);
  const members = store.members.get(id) ?? [];
  const others = members.filter((m) => m.user_id !== store.me);
  const pending = store.pending.filter((p) => p.conversation_id === id);
  const refused = [...store.refused].filter(([, r]) => r.conversationId === id);
  const uploads = store.uploads.filter((u) => u.conversationId === id);
  const typing = store.whoIsTyping(id);
  const activity = store.agents.get(id);
  const title = store.titleOf(id);
  const peer = store.peerOf(id);
  const isGroup = conv?.kind === 'group';
  const messages = thread.messages;
  const last = messages.at(-1);
  const lastMine = lastMineId(messages, store.me);
  const newBelow = atBottom ? 0 : messages.filter((m) => m.seq > seenSeq.current && m.sender_id !== store.me).length;
  // Marked seen only where the reader is known to be at the bottom (after layout, a scroll, a jump), never
  // while rendering: a message that lands in the same frame as a scroll away would be counted as read.
  const sawLatest = () => {
    if (last) seenSeq.current = Math.max(seenSeq.current, last.seq);
  };
  const jumpToLatest = () => {
    const el = list.current;
    if (!el) return;
    jumpingUntil.current = performance.now() + 1_000;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
    stick.current = true;
    sawLatest();
    setAtBottom(true);
  };

  // Keep the newest message in view while the reader is at the bottom; keep the reader's place when older pages arrive above.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const waiting = before.current;
    if (waiting && (messages[0]?.seq ?? 0) < waiting.firstSeq) {
      el.scrollTop += el.scrollHeight - waiting.height;
      before.current = undefined;
    } else if (waiting && !thread.loadingOlder) {
      before.current = undefined;
    } else if (!waiting && stick.current) {
      // A scroll the reader just made may not have reached onScroll yet (a message can land in the same frame):
      // judged against the height before this render, they had left the bottom, so they are not pulled back.
      const onItsWay = jumping();
      const leftBottom = !onItsWay && lastHeight.current > 0 && lastHeight.current - el.scrollTop - el.clientHeight >= 60;
      if (leftBottom) {
        stick.current = false;
        setAtBottom(false);
      } else {
        if (onItsWay) el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
        else el.scrollTop = el.scrollHeight;
        sawLatest();
      }
    }
    lastHeight.current = el.scrollHeight;
  });

  // A search result opened here: once its message is held, bring it to the middle and mark it for a moment.
  const [flashSeq, setFlashSeq] = useState<number>();
  const focus = store.focus?.conversationId === id ? store.focus.seq : undefined;
  const holdsFocus = focus !== undefined && messages.some((m) => m.seq === focus);
  useLayoutEffect(() => {
    if (focus === undefined || !holdsFocus) return;
    const el = list.current?.querySelector<HTMLElement>(`[data-seq="${focus}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    // Only a message above the end leaves the reader away from the bottom (and shows the jump-to-latest button).
    const box = list.current!;
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    stick.current = atEnd;
    if (atEnd) sawLatest();
    setAtBottom(atEnd);
    setFlashSeq(focus);
    store.focused();
  }, [focus, holdsFocus, store]);
  useEffect(() => {
    if (flashSeq === undefined) return;
    const timer = setTimeout(() => setFlashSeq(undefined), 2_500);
    return () => clearTimeout(timer);
  }, [flashSeq]);

  // An image that finishes loading after the list was laid out makes it taller: a reader at
  // the bottom stays there (load events do not bubble, so listen in the capture phase).
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const keepBottom = () => {
      if (stick.current && !before.current) el.scrollTop = el.scrollHeight;
    };
    el.addEventListener('load', keepBottom, true);
    return () => el.removeEventListener('load', keepBottom, true);
  }, [id]);

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    if (!atEnd && jumping()) return;
    jumpingUntil.current = 0;
    stick.current = atEnd;
    if (stick.current) sawLatest();
    if (stick.current !== atBottom) setAtBottom(stick.current);
    if (el.scrollTop < LOAD_OLDER_AT) loadOlder();
  };
  const loadOlder = () => {
    const el = list.current;
    if (!thread.hasOlder || thread.loadingOlder || !el) return;
    before.current = { height: el.scrollHeight, firstSeq: messages[0]?.seq ?? 0 };
    void store.loadOlder(id);
  };

  const activityText = activity ? t(`agent.${activity.state === 'idle' ? 'thinking' : activity.state}`) : undefined;

  return (
    <section className="conversation" aria-label={title}>
      <header className="conversation-head">
        <button type="button" className="back icon" onClick={onBack} aria-label={t('conv.back')}>‹</button>
        <Avatar name={title} agent={peer?.kind === 'agent'} group={isGroup} small />
        <h2 className="conversation-name">{title}</h2>
        {isGroup && <span className="hint">{t('conv.members')}: {members.length}</span>}
        {isGroup && <button type="button" onClick={() => setAdding(true)}>{t('conv.addMembers')}</button>}
        <span className="conv-prefs">
          <button type="button" className="icon" data-testid="pin-toggle" aria-pressed={conv?.pinned ?? false}
            aria-label={conv?.pinned ? t('conv.unpin') : t('conv.pin')} title={conv?.pinned ? t('conv.unpin') : t('conv.pin')}
            onClick={() => void store.setPrefs(id, { pinned: !(conv?.pinned ?? false) })}><PinIcon /></button>
          <button type="button" className="icon" data-testid="mute-toggle" aria-pressed={conv?.muted ?? false}
            aria-label={conv?.muted ? t('conv.unmute') : t('conv.mute')} title={conv?.muted ? t('conv.unmute') : t('conv.mute')}
            onClick={() => void store.setPrefs(id, { muted: !(conv?.muted ?? false) })}>{conv?.muted ? <BellOffIcon /> : <BellIcon />}</button>
        </span>
      </header>
      <div className="messages" ref={list} onScroll={onScroll} data-testid="messages" aria-live="polite" aria-relevant="additions">
        {thread.hasOlder
          ? <button type="button" className="link older" onClick={loadOlder} disabled={thread.loadingOlder}>{thread.loadingOlder ? t('conv.olderLoading') : t('conv.loadOlder')}</button>
          : thread.loaded && <p className="hint center">{t('conv.beginning')}</p>}
        {messages.map((m, i) => {
          const prev = messages[i - 1];
          const mine = m.sender_id === store.me;
          const grouped = continuesBlock(prev, m);
          return (
            <Fragment key={m.id}>
              {startsNewDay(prev, m) && (
                <div className="day-separator" role="separator" data-testid="day-separator"><span>{dayLabel(m.created_at, locale, t)}</span></div>
              )}
              <MessageItem
                store={store}
                message={m}
                mine={mine}
                showSender={!mine && (isGroup || store.people.get(m.sender_id)?.kind === 'agent') && !grouped}
                grouped={grouped}
                receipt={mine && m.id === lastMine ? receiptOf(m.seq, others) : undefined}
                group={isGroup}
                flash={m.seq === flashSeq}
              />
            </Fragment>
          );
        })}
        {pending.map((p) => <PendingItem key={p.client_msg_id} content={p.content} type={p.msg_type} />)}
        {refused.map(([key, r]) => <PendingItem key={key} content={r.content} type="text" error={errorMessage(r.error, t)} />)}
        {uploads.map((u) => <p key={u.id} className="hint upload">{t('composer.uploading', { name: u.name })}</p>)}
        {store.queuedUploads.filter((q) => q.conversationId === id).map((q) => (
          <p key={q.id} className="hint upload" data-testid="queued-upload">{t('composer.uploadQueued', { name: q.file.name })}</p>
        ))}
        {last === undefined && pending.length === 0 && !thread.loaded && <p className="hint center">…</p>}
      </div>
      {!atBottom && (
        <button type="button" className="jump-latest" data-testid="jump-latest" onClick={jumpToLatest}>
          ↓ {newBelow > 0 ? t('conv.newBelow', { count: newBelow }) : t('conv.jumpLatest')}
        </button>
      )}
      <div className="activity" role="status" aria-live="polite">
        {activity && activityText && (
          <span className={`agent-state ${activity.state}`} data-testid="agent-state" data-state={activity.state}>
            <span className="pulse" aria-hidden="true" /> {store.nameOf(activity.agentId)}: {activityText}
          </span>
        )}
        {typing.length > 0 && (
          <span className="typing" data-testid="typing">
            {typing.length === 1 ? t('conv.typing.one', { name: typing[0]! }) : t('conv.typing.many', { names: typing.join(', ') })}
          </span>
        )}
      </div>
      <Composer store={store} conversationId={id} members={members.map((m) => m.user_id)} />
      {adding && (
        <PeoplePicker
          store={store}
          mode="add"
          exclude={members.map((m) => m.user_id)}
          onClose={() => setAdding(false)}
          onPicked={async (ids) => {
            await store.addMembers(id, ids);
            setAdding(false);
          }}
        />
      )}
    </section>
  );
}

/** Receipts show under my newest message only, as chat apps do. */
function lastMineId(messages: ReadonlyArray<{ id: string; sender_id: string; state: string }>, me: string): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.sender_id === me && m.state !== 'recalled') return m.id;
  }
  return undefined;
}

/** Today, Yesterday, or the date (with the year when it is not this year). */
function dayLabel(ts: number, locale: Locale, t: Translate): string {
  const day = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (day.toDateString() === today.toDateString()) return t('conv.today');
  if (day.toDateString() === yesterday.toDateString()) return t('conv.yesterday');
  return day.toLocaleDateString(locale, { weekday: 'short', month: 'long', day: 'numeric', ...(day.getFullYear() === today.getFullYear() ? {} : { year: 'numeric' }) });
}
