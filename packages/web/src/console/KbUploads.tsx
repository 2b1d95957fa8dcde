import { IngestJob, IngestJobList } from '@warbler/protocol';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { useLoad } from './useLoad.ts';

/** Uploads on their way into a knowledge base: status, progress, why one failed, and Retry. Polls while any is under way. */
export function KbUploads({ client, kbId, refresh, onReady }: { client: ConsoleApi; kbId: string; refresh: number; onReady: () => void }) {
  const { t } = useI18n();
  const path = `/api/knowledge-bases/${encodeURIComponent(kbId)}/uploads`;
  const uploads = useLoad(() => client.call('GET', path, undefined, IngestJobList), [client, kbId, refresh]);
  const [problem, setProblem] = useState<string>();
  const busy = uploads.data?.uploads.some((u) => u.status === 'queued' || u.status === 'processing') ?? false;
  const ready = uploads.data?.uploads.filter((u) => u.status === 'ready').length ?? 0;

  // useLoad's reload and the parent's callback are new on every render: the effects read them through refs.
  const reload = useRef(uploads.reload);
  reload.current = uploads.reload;
  const readyNow = useRef(onReady);
  readyNow.current = onReady;
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(() => reload.current(), 1_500);
    return () => clearInterval(timer);
  }, [busy]);
  // A document became ready: the document list has one more.
  useEffect(() => {
    if (ready) readyNow.current();
  }, [ready]);

  const retry = async (id: string) => {
    setProblem(undefined);
    try {
      await client.call('POST', `${path}/${encodeURIComponent(id)}/retry`, undefined, IngestJob);
      uploads.reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  if (!uploads.data?.uploads.length) return null;
  return (
    <>
      <h3>{t('kb.uploads')}</h3>
      {problem && <p className="error" role="alert">{problem}</p>}
      <div className="table-wrap">
        <table data-testid="kb-uploads">
          <thead><tr><th>{t('console.name')}</th><th>{t('kb.status')}</th><th /></tr></thead>
          <tbody>
            {uploads.data.uploads.map((u) => (
              <tr key={u.id} data-upload={u.filename} data-status={u.status}>
                <td>{u.filename}<div className="hint">{u.format.toUpperCase()} · {(u.bytes / 1024).toFixed(1)} KB</div></td>
                <td>
                  <span className={`badge status-${u.status}`}>{t(`kb.status.${u.status}`)}</span>
                  {u.status === 'processing' && <progress max={100} value={u.progress} aria-label={t('kb.status.processing')} />}
                  {u.reason && <div className="error">{u.reason}</div>}
                </td>
                <td>{u.status === 'failed' && <button type="button" onClick={() => void retry(u.id)}>{t('kb.retry')}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
