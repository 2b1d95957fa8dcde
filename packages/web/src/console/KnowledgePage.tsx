import { IngestJob, KbChunkList, KbDocumentInfo, KbDocumentList, KbSearchResult, KnowledgeBase, KnowledgeBaseList, KnowledgeSettings } from '@warbler/protocol';
import { useCallback, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { KbFaqs } from './KbFaqs.tsx';
import { KbSettings } from './KbSettings.tsx';
import { KbUploads } from './KbUploads.tsx';
import { KbWebSources } from './KbWebSources.tsx';
import { useLoad } from './useLoad.ts';

const ACCEPT = '.md,.markdown,.txt,.pdf,.docx,.xlsx,.xls,.csv,.html,.htm,.pptx,text/markdown,text/plain';

type Kb = KnowledgeBase;
type Doc = KbDocumentInfo;

export function KnowledgePage({ client }: { client: ConsoleApi }) {
  const { t } = useI18n();
  const kbs = useLoad(() => client.call('GET', '/api/knowledge-bases', undefined, KnowledgeBaseList), [client]);
  const [selected, setSelected] = useState<string>();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [problem, setProblem] = useState<string>();
  const current = selected ?? kbs.data?.knowledge_bases[0]?.id;

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const kb = await client.call('POST', '/api/knowledge-bases', { name: name.trim(), ...(description.trim() && { description: description.trim() }) }, KnowledgeBase);
      setName('');
      setDescription('');
      setSelected(kb.id);
      kbs.reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  return (
    <section>
      <h1>{t('kb.title')}</h1>
      {kbs.error && <p className="error" role="alert">{t('console.error', { message: kbs.error })}</p>}
      <div className="split">
        <div className="split-side">
          <ul className="pick-list" aria-label={t('kb.title')}>
            {kbs.data?.knowledge_bases.map((kb) => (
              <li key={kb.id}>
                <button type="button" aria-current={kb.id === current ? 'true' : undefined} onClick={() => setSelected(kb.id)}>
                  <strong>{kb.name}</strong>
                  <span className="hint">{kb.id}</span>
                </button>
              </li>
            ))}
          </ul>
          <form className="card" onSubmit={create}>
            <h2>{t('kb.new')}</h2>
            <label className="field"><span>{t('console.name')}</span><input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} /></label>
            <label className="field"><span>{t('kb.description')}</span><input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} /></label>
            {problem && <p className="error" role="alert">{problem}</p>}
            <button type="submit" className="primary" disabled={!name.trim()}>{t('console.create')}</button>
          </form>
        </div>
        {current && (
          <KbDetail key={current} client={client} kb={kbs.data?.knowledge_bases.find((k) => k.id === current)} kbId={current}
            onDeleted={() => { setSelected(undefined); kbs.reload(); }} />
        )}
      </div>
    </section>
  );
}

function KbDetail({ client, kbId, kb, onDeleted }: { client: ConsoleApi; kbId: string; kb: Kb | undefined; onDeleted: () => void }) {
  const { t, locale } = useI18n();
  const docs = useLoad(() => client.call('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents`, undefined, KbDocumentList), [client, kbId]);
  const [progress, setProgress] = useState<number>();
  const [uploaded, setUploaded] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [chunks, setChunks] = useState<{ docId: string; list: KbChunkList['chunks'] }>();
  const [query, setQuery] = useState('');
  const [result, setResult] = useState<KbSearchResult>();
  const [uploadsSeen, setUploadsSeen] = useState(0);
  const docsNow = useRef(docs);
  docsNow.current = docs;
  const reloadDocs = useCallback(() => docsNow.current.reload(), []);

  const upload = async (file: File) => {
    setProblem(undefined);
    setUploaded(undefined);
    setProgress(0);
    const form = new FormData();
    form.set('file', file, file.name);
    try {
      const doc = await client.upload<Doc | IngestJob>(`/api/knowledge-bases/${encodeURIComponent(kbId)}/documents`, form, setProgress);
      setProgress(1);
      // PDF, Word, spreadsheets, HTML and slides are queued (202) and parsed in the background.
      if ('status' in doc) {
        setUploaded(t('kb.queued', { name: doc.filename }));
        setUploadsSeen((n) => n + 1);
      } else {
        setUploaded(t('kb.uploaded', { title: doc.title, chunks: doc.chunk_count }));
        docs.reload();
      }
    } catch (err) {
      setProblem(errorText(err));
      setProgress(undefined);
    }
  };
  const showChunks = async (docId: string) => {
    if (chunks?.docId === docId) return setChunks(undefined);
    try {
      const r = await client.call('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents/${encodeURIComponent(docId)}/chunks`, undefined, KbChunkList);
      setChunks({ docId, list: r.chunks });
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const search = async (e: FormEvent) => {
    e.preventDefault();
    if (!query.trim()) return;
    try {
      // As many passages as the knowledge base's top-k setting asks for.
      const settings = await client.call('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/settings`, undefined, KnowledgeSettings).catch(() => ({ top_k: 5 }));
      setResult(await client.call('POST', `/api/knowledge-bases/${encodeURIComponent(kbId)}/search`, { query: query.trim(), k: settings.top_k, locale }, KbSearchResult));
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  const removeKb = async () => {
    try {
      await client.call('DELETE', `/api/knowledge-bases/${encodeURIComponent(kbId)}`);
      onDeleted();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const removeDoc = async (docId: string) => {
    try {
      await client.call('DELETE', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents/${encodeURIComponent(docId)}`);
      if (chunks?.docId === docId) setChunks(undefined);
      docs.reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };

  return (
    <div className="split-main">
      <div className="form-head">
        <h2>{kb?.name ?? kbId}</h2>
        <ConfirmButton label={t('console.delete')} question={t('kb.deleteQuestion', { name: kb?.name ?? kbId })} onConfirm={removeKb} />
      </div>
      {kb?.description && <p className="hint">{kb.description}</p>}
      <div className="card">
        <label className="field">
          <span>{t('kb.uploadAny')}</span>
          <input type="file" accept={ACCEPT} data-testid="kb-upload"
            onChange={(e) => { const f = e.target.files?.[0]; if (f) void upload(f); e.target.value = ''; }} />
        </label>
        {progress !== undefined && (
          <div className="progress-row">
            <progress max={1} value={progress} aria-label={t('kb.uploading', { pct: Math.round(progress * 100) })} />
            <span>{t('kb.uploading', { pct: Math.round(progress * 100) })}</span>
          </div>
        )}
        {uploaded && <p className="ok-text" role="status" data-testid="kb-uploaded">{uploaded}</p>}
        {problem && <p className="error" role="alert">{problem}</p>}
      </div>
      <KbSettings client={client} kbId={kbId} onReindexed={reloadDocs} />
      <KbUploads client={client} kbId={kbId} refresh={uploadsSeen} onReady={reloadDocs} />
      <KbWebSources client={client} kbId={kbId} onChanged={() => { reloadDocs(); setUploadsSeen((n) => n + 1); }} />
      <h3>{t('kb.documents')}</h3>
      <div className="table-wrap">
        <table>
          <thead><tr><th>{t('console.name')}</th><th>{t('kb.chunks')}</th><th>KB</th><th /></tr></thead>
          <tbody>
            {docs.data?.documents.length === 0 && <tr><td colSpan={4}>{t('console.none')}</td></tr>}
            {docs.data?.documents.map((d) => (
              <tr key={d.id} data-doc={d.title}>
                <td>{d.title}<div className="hint">{d.source}</div></td>
                <td>{d.chunk_count}</td>
                <td>{(d.bytes / 1024).toFixed(1)}</td>
                <td>
                  <button type="button" aria-expanded={chunks?.docId === d.id} onClick={() => void showChunks(d.id)}>{t('kb.showChunks')}</button>
                  <ConfirmButton label={t('console.delete')} question={t('kb.deleteDocQuestion', { name: d.title })} onConfirm={() => removeDoc(d.id)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {chunks && (
        <ol className="chunks" aria-label={t('kb.chunks')}>
          {chunks.list.map((c) => (
            <li key={c.id}>
              <div className="hint">#{c.ordinal} · {c.heading_path.join(' › ')} · {c.tokens} tokens</div>
              <pre>{c.text}</pre>
            </li>
          ))}
        </ol>
      )}
      <KbFaqs client={client} kbId={kbId} />
      <h3>{t('kb.test')}</h3>
      <form className="inline-form" onSubmit={search}>
        <input aria-label={t('kb.test')} value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">{t('kb.testGo')}</button>
      </form>
      {result && (
        <div className="search-result" data-testid="kb-search-result">
          {result.passages.length === 0 && <p>{t('kb.noPassages')}</p>}
          <ol className="chunks">
            {result.passages.map((p) => (
              <li key={p.chunk_id}>
                <div><strong>[{p.index}] {p.title}</strong>{p.heading_path.length > 0 && ` › ${p.heading_path.join(' › ')}`} <span className="hint">score {p.score.toFixed(2)}</span></div>
                <pre>{p.text}</pre>
              </li>
            ))}
          </ol>
          <h4>{t('kb.answer')}</h4>
          <blockquote className="pre">{result.answer.text}</blockquote>
        </div>
      )}
    </div>
  );
}
