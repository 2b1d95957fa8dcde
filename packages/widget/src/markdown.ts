import { el } from './dom.ts';

// The little markdown the agents write (quoted passages, code blocks, `code`,
// **bold**, _notes_), drawn with DOM nodes: text is never parsed as HTML, so
// an answer cannot inject markup into the company's page.

// No lookbehind: Safari before 16.4 cannot parse it, and one syntax error would stop the whole widget.
const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|(^|\s)_([^_\n]+)_(?=$|[\s.,;:!?)])/g;

function inline(text: string): Array<Node | string> {
  const out: Array<Node | string> = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(el('code', {}, m[1]));
    else if (m[2] !== undefined) out.push(el('strong', {}, m[2]));
    else out.push(m[3] ?? '', el('em', {}, m[4] ?? ''));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const isQuote = (line: string) => line === '>' || line.startsWith('> ');

/** Blocks: quotes (drawn recursively), fenced code, paragraphs split by blank lines. */
export function renderMarkdown(text: string, depth = 0): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = text.split('\n');
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) out.append(el('p', {}, ...inline(paragraph.join('\n'))));
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (isQuote(line) && depth < 3) {
      flush();
      const quoted: string[] = [];
      while (i < lines.length && isQuote(lines[i]!)) quoted.push(lines[i++]!.slice(2));
      i--;
      out.append(el('blockquote', {}, renderMarkdown(quoted.join('\n'), depth + 1)));
    } else if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith('```')) code.push(lines[i]!);
      // Focusable: a long line scrolls sideways, and a keyboard must be able to scroll it too (WCAG 2.1.1).
      out.append(el('pre', { tabindex: '0' }, el('code', {}, code.join('\n'))));
    } else if (line.trim() === '') {
      flush();
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return out;
}
