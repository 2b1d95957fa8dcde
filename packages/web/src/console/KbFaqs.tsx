import { Faq, FaqImportResult, FaqList } from '@warbler/protocol';
import { useState, type FormEvent } from 'react';
import { errorText } from '../api.ts';
import { useI18n } from '../ui/i18n.tsx';
import type { ConsoleApi } from './client.ts';
import { ConfirmButton } from './Confirm.tsx';
import { useLoad } from './useLoad.ts';

/** FAQs of one knowledge base: add by hand, import a CSV/XLSX, or make one from a reply rated thumbs-up. */
export function KbFaqs({ client, kbId }: { client: ConsoleApi; kbId: string }) {
  const { t } = useI18n();
  const path = `/api/knowledge-bases/${encodeURIComponent(kbId)}/faqs`;
  const faqs = useLoad(() => client.call('GET', path, undefined, FaqList), [client, kbId]);
  const [question, setQuestion] = useState('');
  const [answer, setAnswer] = useState('');
  const [messageId, setMessageId] = useState('');
  const [note, setNote] = useState<string>();
  const [problem, setProblem] = useState<string>();

  const run = async (what: () => Promise<string | undefined>) => {
    setProblem(undefined);
    setNote(undefined);
    try {
      setNote(await what());
      faqs.reload();
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await client.call('POST', path, { question: question.trim(), answer: answer.trim() }, Faq);
      setQuestion('');
      setAnswer('');
      return undefined;
    });
  };
  const fromReply = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await client.call('POST', `${path}/from-reply`, { message_id: messageId.trim() }, Faq);
      setMessageId('');
      return t('kb.faq.made');
    });
  };
  const importFile = (file: File) => void run(async () => {
    const form = new FormData();
    form.set('file', file, file.name);
    const r = await client.upload<FaqImportResult>(`${path}/import`, form, () => {});
    return t('kb.faq.imported', { added: r.added, skipped: r.skipped });
  });
  const remove = (id: string) => run(async () => {
    await client.call('DELETE', `${path}/${encodeURIComponent(id)}`);
    return undefined;
  });

  return (
    <>
      <h3>{t('kb.faq')}</h3>
      <p className="hint">{t('kb.faq.hint')}</p>
      <form className="card" onSubmit={add} data-testid="kb-faq-add">
        <label className="field"><span>{t('kb.faq.question')}</span><input value={question} onChange={(e) => setQuestion(e.target.value)} maxLength={1000} required /></label>
        <label className="field"><span>{t('kb.faq.answer')}</span><textarea value={answer} onChange={(e) => setAnswer(e.target.value)} maxLength={20000} rows={3} required /></label>
        <button type="submit" className="primary" disabled={!question.trim() || !answer.trim()}>{t('kb.faq.add')}</button>
      </form>
      <div className="card">
        <label className="field">
          <span>{t('kb.faq.import')}</span>
          <input type="file" accept=".csv,.xlsx,.xls" data-testid="kb-faq-import" onChange={(e) => { const f = e.target.files?.[0]; if (f) importFile(f); e.target.value = ''; }} />
        </label>
        <form className="inline-form" onSubmit={fromReply}>
          <input aria-label={t('kb.faq.fromReply')} placeholder={t('kb.faq.fromReply')} value={messageId} onChange={(e) => setMessageId(e.target.value)} maxLength={200} />
          <button type="submit" disabled={!messageId.trim()}>{t('kb.faq.make')}</button>
        </form>
      </div>
      {note && <p className="ok-text" role="status">{note}</p>}
      {problem && <p className="error" role="alert">{problem}</p>}
      <div className="table-wrap">
        <table data-testid="kb-faqs">
          <thead><tr><th>{t('kb.faq.question')}</th><th>{t('kb.faq.answer')}</th><th /></tr></thead>
          <tbody>
            {faqs.data?.faqs.length === 0 && <tr><td colSpan={3}>{t('console.none')}</td></tr>}
            {faqs.data?.faqs.map((f) => (
              <tr key={f.id}>
                <td>{f.question}<div className="hint">{t(`kb.faq.origin.${f.origin}`)}</div></td>
                <td className="pre">{f.answer}</td>
                <td><ConfirmButton label={t('console.delete')} question={t('kb.faq.deleteQuestion')} onConfirm={() => remove(f.id)} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
