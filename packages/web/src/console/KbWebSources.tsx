import { WebSource, WebSourceList } from '@warbler/protocol';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

type Mode = WebSource['mode'];

/** Websites a knowledge base reads (a page, a sitemap, a crawl): add one, see each run's figures, resync now or remove. Polls while one runs. */
export function KbWebSources({ client, kbId, onChanged }: { client: ConsoleApi; kbId: string; onChanged: () => void }) {
  const { t, locale } = useI18n();
  const path = `/api/knowledge-bases/${encodeURIComponent(kbId)}/web-sources`;
  const sources = useLoad(() => client.call('GET', path, undefined, WebSourceList), [client, kbId]);
  const [url, setUrl] = useState('');
  const [mode, setMode] = useState<Mode>('crawl');
  const [maxPages, setMaxPages] = useState(50);
  const [depth, setDepth] = useState(2);
  const [resync, setResync] = useState('24');
  const [problem, setProblem] = useState<string>();
  const busy = sources.data?.web_sources.some((s) => s.status === 'queued' || s.status === 'running') ?? false;

  // useLoad's reload and the parent's callback are new on every render: the effects read them through refs.
  const reload = useRef(sources.reload);
  reload.current = sources.reload;
  const changed = useRef(onChanged);
  changed.current = onChanged;
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(() => reload.current(), 1_500);
    // A run that ends has added or removed documents: the list below is read again.
    return () => {
      clearInterval(timer);
      changed.current();
    };
  }, [busy]);

  const act = async (run: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await run();
      sources.reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await client.call('POST', path, { url: url.trim(), mode, max_pages: maxPages, max_depth: depth, resync_hours: resync === 'never' ? null : Number(resync) }, WebSource);
      setUrl('');
    });
  };
  const when = (ms: number | null) => (ms === null ? t('kb.web.never') : new Date(ms).toLocaleString(locale));

  return (
    <>
      <h3>{t('kb.web.title')}</h3>
      <form className="card" onSubmit={add} data-testid="kb-web-add">
        <label className="field">
          <span>{t('kb.web.url')}</span>
          <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/help/" />
        </label>
        <div className="form-grid">
          <label className="field">
            <span>{t('kb.web.mode')}</span>
            <select value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
              {(['crawl', 'sitemap', 'page'] as const).map((m) => <option key={m} value={m}>{t(`kb.web.mode.${m}`)}</option>)}
            </select>
          </label>
          {mode !== 'page' && (
            <label className="field">
              <span>{t('kb.web.maxPages')}</span>
              <input type="number" min={1} max={1000} value={maxPages} onChange={(e) => setMaxPages(Number(e.target.value))} />
            </label>
          )}
          {mode === 'crawl' && (
            <label className="field">
              <span>{t('kb.web.depth')}</span>
              <input type="number" min={0} max={5} value={depth} onChange={(e) => setDepth(Number(e.target.value))} />
            </label>
          )}
          <label className="field">
            <span>{t('kb.web.resync')}</span>
            <select value={resync} onChange={(e) => setResync(e.target.value)}>
              <option value="never">{t('kb.web.resync.never')}</option>
              {(['6', '24', '168'] as const).map((h) => <option key={h} value={h}>{t(`kb.web.resync.${h}`)}</option>)}
            </select>
          </label>
        </div>
        <p className="hint">{t('kb.web.hint')}</p>
        <button type="submit" disabled={!url.trim()}>{t('kb.web.add')}</button>
        {problem && <p className="error" role="alert">{problem}</p>}
      </form>
      {!!sources.data?.web_sources.length && (
        // Cards rather than a table: a URL, a reason and the run's figures need the width a phone does not have for four columns.
        <ul className="web-sources" data-testid="kb-web-sources">
          {sources.data.web_sources.map((s) => (
            <li key={s.id} className="card" data-source={s.url} data-status={s.status}>
              <div className="web-source-head">
                <span className="break-url">{s.url}</span>
                <span className={`badge status-${s.status === 'idle' ? 'ready' : s.status === 'running' ? 'processing' : s.status}`}>{t(`kb.web.status.${s.status}`)}</span>
              </div>
              <div className="hint">{t(`kb.web.mode.${s.mode}`)} · {t('kb.web.pages', { count: s.pages })} · {t('kb.web.next', { when: when(s.next_run_at) })}</div>
              {s.reason && <p className="error">{s.reason}</p>}
              {s.last_run && (
                <p>
                  {t('kb.web.lastRun')}: {t('kb.web.figures', { added: s.last_run.added, changed: s.last_run.changed, unchanged: s.last_run.unchanged, removed: s.last_run.removed, excluded: s.last_run.excluded, failed: s.last_run.failed })}
                </p>
              )}
              {s.last_run?.errors.slice(0, 3).map((e) => <div key={e.url} className="error break-url">{e.url}: {e.reason}</div>)}
              <div className="actions">
                <button type="button" disabled={s.status === 'running' || s.status === 'queued'} onClick={() => void act(() => client.call('POST', `${path}/${encodeURIComponent(s.id)}/resync`, undefined, WebSource))}>{t('kb.web.resyncNow')}</button>
                <ConfirmButton label={t('console.delete')} question={t('kb.web.removeQuestion', { url: s.url })}
                  onConfirm={() => act(async () => { await client.call('DELETE', `${path}/${encodeURIComponent(s.id)}`); changed.current(); })} />
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
