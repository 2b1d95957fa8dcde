import { KnowledgeSettings, KnowledgeSettingsSaved } from '@warbler/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { useLoad } from './useLoad.ts';

/** Chunk size, overlap, top-k and citation style of one knowledge base; a new chunking re-indexes it. */
export function KbSettings({ client, kbId, onReindexed }: { client: ConsoleApi; kbId: string; onReindexed: () => void }) {
  const { t } = useI18n();
  const path = `/api/knowledge-bases/${encodeURIComponent(kbId)}/settings`;
  const loaded = useLoad(() => client.call('GET', path, undefined, KnowledgeSettings), [client, kbId]);
  const [form, setForm] = useState<KnowledgeSettings>();
  const [note, setNote] = useState<string>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => setForm(loaded.data), [loaded.data]);
  if (!form) return null;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    setNote(undefined);
    try {
      const r = await client.call('PUT', path, form, KnowledgeSettingsSaved);
      setForm(r.settings);
      setNote(r.reindexed ? t('kb.settings.reindexed', { n: r.reindexed }) : t('kb.settings.saved'));
      if (r.reindexed) onReindexed();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const number = (key: 'chunk_tokens' | 'overlap_tokens' | 'top_k', min: number, max: number) => (
    <label className="field">
      <span>{t(`kb.settings.${key}`)}</span>
      <input type="number" min={min} max={max} value={form[key]} onChange={(e) => setForm({ ...form, [key]: Number(e.target.value) })} />
    </label>
  );
  return (
    <details className="card">
      <summary>{t('kb.settings')}</summary>
      <form onSubmit={save} data-testid="kb-settings">
        {number('chunk_tokens', 100, 2000)}
        {number('overlap_tokens', 0, 400)}
        {number('top_k', 1, 20)}
        <label className="field">
          <span>{t('kb.settings.citation_style')}</span>
          <select value={form.citation_style} onChange={(e) => setForm({ ...form, citation_style: e.target.value as KnowledgeSettings['citation_style'] })}>
            <option value="numbered">{t('kb.settings.numbered')}</option>
            <option value="footnotes">{t('kb.settings.footnotes')}</option>
            <option value="none">{t('kb.settings.none')}</option>
          </select>
        </label>
        {note && <p className="ok-text" role="status">{note}</p>}
        {problem && <p className="error" role="alert">{problem}</p>}
        <button type="submit" className="primary">{t('console.save')}</button>
      </form>
    </details>
  );
}
