import type { SearchHit } from '@warbler/sdk';
import { Fragment, useEffect, useRef, useState } from 'react';
import { errorMessage, formatListTime } from '../i18n.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ChatStore } from './store.ts';

/** Typing pauses this long before a search is sent (searches are budgeted per user). */
const DEBOUNCE_MS = 350;

/** The search box of the conversation list; while it holds a query, its results stand in for the list. */
export function MessageSearchBox({ query, onQuery }: { query: string; onQuery: (q: string) => void }) {
  const { t } = useI18n();
  return (
    <form role="search" className="search-box" onSubmit={(e) => e.preventDefault()}>
      <input type="search" value={query} onChange={(e) => onQuery(e.target.value)} aria-label={t('search.label')} placeholder={t('search.label')}
        data-testid="search-input" onKeyDown={(e) => { if (e.key === 'Escape') onQuery(''); }} />
      {query && <button type="button" className="icon" aria-label={t('search.clear')} onClick={() => onQuery('')}>×</button>}
    </form>
  );
}

export function MessageSearchResults({ store, query, onPick }: { store: ChatStore; query: string; onPick: (hit: SearchHit) => void }) {
  const { t, locale } = useI18n();
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const asked = useRef(0);

  const run = async (q: string, cursor?: string) => {
    const n = ++asked.current;
    setBusy(true);
    setError(undefined);
    try {
      const page = await store.searchMessages(q, cursor);
      if (n !== asked.current) return;
      setHits((held) => (cursor ? [...held, ...page.hits] : page.hits));
      setNext(page.next_cursor);
    } catch (err) {
      if (n === asked.current) setError(errorMessage(err, t));
    } finally {
      if (n === asked.current) setBusy(false);
    }
  };

  useEffect(() => {
    const q = query.trim();
    setHits([]);
    setNext(null);
    if (!q) return;
    const timer = setTimeout(() => void run(q), DEBOUNCE_MS);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query]);

  return (
    <section className="search-results" aria-label={t('search.results')} data-testid="search-results" aria-busy={busy}>
      <p className="sr-only" role="status">{busy ? t('search.searching') : `${t('search.results')}: ${hits.length}`}</p>
      {error && <p className="error-text pad" role="alert">{error}</p>}
      {!busy && !error && hits.length === 0 && query.trim() && <p className="hint pad">{t('search.none', { q: query.trim() })}</p>}
      <ul className="conversations">
        {hits.map((hit) => (
          <li key={hit.message_id}>
            <button type="button" className="conversation-item search-hit" data-testid="search-hit" data-message={hit.message_id} onClick={() => onPick(hit)}>
              <span className="conversation-main">
                <span className="conversation-top">
                  <span className="conversation-title">{store.titleOf(hit.conversation_id)}</span>
                  <time className="time" dateTime={new Date(hit.created_at).toISOString()}>{formatListTime(hit.created_at, locale)}</time>
                </span>
                <span className="snippet">
                  <span className="snippet-sender">{hit.sender_id === store.me ? t('list.you') : store.nameOf(hit.sender_id)}: </span>
                  <Highlighted text={hit.snippet} ranges={hit.highlights} />
                </span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {next && <button type="button" className="link pad" disabled={busy} onClick={() => void run(query.trim(), next)}>{t('search.more')}</button>}
    </section>
  );
}

/** Plain text with the matched ranges in <mark> (never HTML from the server). */
function Highlighted({ text, ranges }: { text: string; ranges: Array<[number, number]> }) {
  const parts: Array<{ text: string; mark: boolean }> = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at || end > text.length) continue;
    if (start > at) parts.push({ text: text.slice(at, start), mark: false });
    parts.push({ text: text.slice(start, end), mark: true });
    at = end;
  }
  if (at < text.length) parts.push({ text: text.slice(at), mark: false });
  return <>{parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <Fragment key={i}>{p.text}</Fragment>))}</>;
}
