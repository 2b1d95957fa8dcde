import type { CitationSource, ReplyCitation } from '@warbler/protocol';
import { useMemo, useState } from 'react';
import { api, errorText } from '../api.ts';
import { renderMarkdown } from '../markdown.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { useI18n } from '../ui/i18n.tsx';

/** What a message's content.citations[] holds; older replies lack the newer fields. */
export type Citation = Pick<ReplyCitation, 'index'> & Partial<Omit<ReplyCitation, 'index'>> & { source?: string | null };

const isUrl = (s: string | null | undefined): s is string => typeof s === 'string' && /^https?:\/\//i.test(s);

/** The heading path without the document's own title, which it usually starts with. */
export function headingOf(c: Pick<Citation, 'title' | 'heading'>): string {
  const parts = (c.heading ?? '').split(' › ').filter(Boolean);
  if (parts[0] === c.title) parts.shift();
  return parts.join(' › ');
}

/**
 * A cited passage in a modal dialog (the native <dialog>: focus stays inside,
 * Esc closes, its title names it): the passage rendered as sanitised
 * Markdown, where in the document it is, and the way to the source — the
 * page itself for a web source, else the document's text, fetched for this
 * reader (the server checks they may see it).
 */
export function CitationDialog({ messageId, citation, token, onClose }: { messageId: string; citation: Citation; token: string; onClose: () => void }) {
  const { t } = useI18n();
  const [doc, setDoc] = useState<CitationSource>();
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string>();
  // A passage is the source's own text: its "[1]" is not a citation of this reply, so nothing is linked.
  const passage = useMemo(() => renderMarkdown(citation.snippet ?? ''), [citation.snippet]);
  const full = useMemo(() => (doc ? renderMarkdown(doc.format === 'text' ? fence(doc.text) : doc.text) : ''), [doc]);
  const where = headingOf(citation);
  const open = async () => {
    setLoading(true);
    setProblem(undefined);
    try {
      setDoc(await api<CitationSource>('GET', `/api/messages/${encodeURIComponent(messageId)}/citations/${citation.index}`, { token }));
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setLoading(false);
    }
  };
  return (
    <Dialog title={`[${citation.index}] ${citation.title ?? t('cite.untitled')}`} onClose={onClose} className="citation-dialog">
      <div data-testid="citation-popover">
        {(where || citation.location) && (
          <p className="hint" data-testid="citation-where">
            {citation.location && citation.location !== where ? `${where} · ${citation.location}` : where || citation.location}
          </p>
        )}
        <blockquote className="markdown citation-passage" data-testid="citation-passage" dangerouslySetInnerHTML={{ __html: passage }} />
        <p className="citation-source">
          {isUrl(citation.source) ? (
            <a href={citation.source} target="_blank" rel="noopener noreferrer" data-testid="citation-open-page">{t('cite.openPage')}</a>
          ) : (
            <>
              {citation.source && <span className="hint">{citation.source}{citation.document_id && !doc ? ' · ' : ''}</span>}
              {citation.document_id && !doc && (
                <button type="button" className="link" onClick={() => void open()} disabled={loading} data-testid="citation-view-document">
                  {loading ? t('cite.loading') : t('cite.viewDocument')}
                </button>
              )}
            </>
          )}
        </p>
        {problem && <p className="error" role="alert">{problem}</p>}
        {doc && (
          <section className="citation-document" aria-label={t('cite.document', { title: doc.title })} data-testid="citation-document">
            <h3>{doc.title}</h3>
            <div className="markdown" dangerouslySetInnerHTML={{ __html: full }} />
          </section>
        )}
      </div>
    </Dialog>
  );
}

/** Plain text shown as it was written (line breaks and all), not read as Markdown. */
function fence(text: string): string {
  const ticks = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${ticks}text\n${text}\n${ticks}`;
}
