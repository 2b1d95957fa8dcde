import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useI18n } from '../ui/i18n.tsx';
import { Paperclip } from '../ui/icons.tsx';
import { Avatar } from './Avatar.tsx';
import { insertMention, mentionAt, mentionedIds, preview } from './logic.ts';
import type { ChatStore, Person } from './store.ts';

/** Longest text message the server stores (TextContent in @warbler/protocol); longer text goes as a file. */
export const MAX_TEXT_CHARS = 32_000;

/** The message box: Enter sends, Shift+Enter breaks the line, @ suggests members, the clip attaches. */
export function Composer({ store, conversationId, members }: { store: ChatStore; conversationId: string; members: string[] }) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [caret, setCaret] = useState(0);
  const [choice, setChoice] = useState(0);
  const [dismissed, setDismissed] = useState<number>();
  const [tooLong, setTooLong] = useState(false);
  const picked = useRef(new Map<string, string>());
  const box = useRef<HTMLTextAreaElement>(null);
  const file = useRef<HTMLInputElement>(null);

  // Opening a chat is for writing in it: the box takes focus, so typing goes there (not to the
  // button that opened the chat). Not on touch screens, where focus would pop the keyboard over the chat.
  useEffect(() => {
    if (matchMedia('(pointer: fine)').matches) box.current?.focus({ preventScroll: true });
  }, [conversationId]);

  const mention = mentionAt(text, caret);
  const candidates: Person[] = mention && dismissed !== mention.start
    ? members
      .filter((id) => id !== store.me)
      .map((id) => store.people.get(id) ?? { id, name: store.nameOf(id), kind: 'human' as const, avatar_url: null })
      .filter((p) => p.name.toLowerCase().includes(mention.query.toLowerCase()) || p.id.toLowerCase().startsWith(mention.query.toLowerCase()))
      .slice(0, 8)
    : [];
  const open = candidates.length > 0;
  const active = Math.min(choice, candidates.length - 1);

  const pick = (p: Person) => {
    if (!mention) return;
    const next = insertMention(text, mention.start, caret, p.name);
    picked.current.set(p.id, p.name);
    setText(next.text);
    setCaret(next.caret);
    setChoice(0);
    requestAnimationFrame(() => {
      box.current?.focus();
      box.current?.setSelectionRange(next.caret, next.caret);
    });
  };

  const send = () => {
    const body = text.trim();
    if (!body) return;
    // Refused before it leaves, in the user's language, and the text stays where it was typed.
    if (body.length > MAX_TEXT_CHARS) return setTooLong(true);
    const mentions = mentionedIds(body, picked.current);
    store.send(conversationId, mentions.length ? { text: body, mentions } : { text: body });
    picked.current.clear();
    setText('');
    setCaret(0);
  };

  const sendAsFile = () => {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    void store.sendFile(conversationId, new File([text], `message-${stamp}.txt`, { type: 'text/plain' }));
    setText('');
    setCaret(0);
    setTooLong(false);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return; // An IME is choosing characters: Enter is theirs.
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setChoice((active + (e.key === 'ArrowDown' ? 1 : candidates.length - 1)) % candidates.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(candidates[active]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(mention?.start);
        return;
      }
    }
    if (e.key === 'Escape' && store.replyingTo.has(conversationId)) {
      e.preventDefault();
      store.cancelReply(conversationId);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  const replyTo = store.replyingTo.get(conversationId);
  const quoted = replyTo ? store.held(conversationId, replyTo) : undefined;
  const labels = { image: t('msg.image'), file: t('msg.file'), recalled: t('msg.recalled') };

  return (
    <>
    {replyTo && (
      <div className="replying" data-testid="replying">
        <span className="replying-label">{t('composer.replyingTo', { name: quoted ? store.nameOf(quoted.sender_id) : '…' })}</span>
        <span className="replying-preview">{quoted ? preview(quoted, labels) : ''}</span>
        <button type="button" className="icon" aria-label={t('composer.cancelReply')} onClick={() => { store.cancelReply(conversationId); box.current?.focus(); }}>×</button>
      </div>
    )}
    <form className="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <button type="button" className="icon attach" aria-label={t('composer.attach')} title={t('composer.attach')} onClick={() => file.current?.click()}><Paperclip /></button>
      <input
        ref={file}
        type="file"
        hidden
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void store.sendFile(conversationId, f);
          e.target.value = '';
        }}
      />
      <div className="composer-box">
        {open && (
          <ul className="mentions" role="listbox" id="mention-list" aria-label={t('composer.mentions')}>
            {candidates.map((p, i) => (
              <li key={p.id} role="option" id={`mention-${p.id}`} aria-selected={i === active} className={i === active ? 'active' : ''}
                onMouseDown={(e) => { e.preventDefault(); pick(p); }}>
                <Avatar name={p.name} agent={p.kind === 'agent'} small /> {p.name}
              </li>
            ))}
          </ul>
        )}
        <textarea
          ref={box}
          id="composer"
          rows={1}
          value={text}
          aria-label={t('composer.label')}
          placeholder={t('composer.placeholder')}
          role="combobox"
          aria-expanded={open}
          aria-controls="mention-list"
          aria-autocomplete="list"
          aria-activedescendant={open ? `mention-${candidates[active]!.id}` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            if (tooLong && e.target.value.trim().length <= MAX_TEXT_CHARS) setTooLong(false);
            setCaret(e.target.selectionStart);
            setDismissed(undefined);
            if (e.target.value) store.typingIn(conversationId);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
        />
        {tooLong && (
          <p className="composer-problem" role="alert" data-testid="composer-too-long">
            {t('composer.tooLong', { count: text.trim().length.toLocaleString(), max: MAX_TEXT_CHARS.toLocaleString() })}{' '}
            <button type="button" className="link" onClick={sendAsFile}>{t('composer.sendAsFile')}</button>
          </p>
        )}
      </div>
      <button type="submit" className="primary send" disabled={!text.trim()}>{t('composer.send')}</button>
    </form>
    </>
  );
}
