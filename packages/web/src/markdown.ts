import DOMPurify from 'dompurify';
import { Marked } from 'marked';

// Message text is written by anyone in the conversation (and by models that
// quote documents anyone uploaded), so it is untrusted HTML once rendered.
// marked turns Markdown into HTML (raw HTML included); DOMPurify then keeps
// only inert formatting. The server's CSP (script-src 'self') is the second
// wall should this one ever crack.

const marked = new Marked({ gfm: true, breaks: true, async: false });
// Text that looks like HTML is shown as the text it is: "<div>" typed in a
// chat means the characters, and it vanished when rendered as markup.
marked.use({
  renderer: {
    html({ text, block }) {
      const shown = escapeHtml(block ? text.replace(/\n+$/, '') : text);
      return block ? `<p>${shown.replace(/\n/g, '<br>')}</p>\n` : shown;
    },
  },
});

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const FORBID_TAGS = ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame', 'object', 'embed', 'video', 'audio', 'source', 'link', 'meta', 'base'];
const FORBID_ATTR = ['style', 'class', 'id', 'srcset', 'action', 'formaction'];

let hooked = false;
function hookLinks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName !== 'A') return;
    const href = node.getAttribute('href') ?? '';
    // In-message citation anchors stay in the page; everything else opens apart from it.
    if (href.startsWith('#cite-')) {
      node.setAttribute('class', 'cite');
      node.setAttribute('data-cite', href.slice('#cite-'.length));
      return;
    }
    if (!/^(https?:|mailto:)/i.test(href)) {
      node.removeAttribute('href');
      return;
    }
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow ugc');
  });
}

/**
 * Turns `[n]` markers that match a citation into links the message view can
 * open as a popover. Markers inside code spans, fenced blocks and quoted
 * passages (blockquotes) stay text.
 */
export function linkCitations(text: string, cited: ReadonlySet<number>, options: CiteOptions = {}): string {
  if (cited.size === 0) return text;
  const parts = text.split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/);
  return parts
    .map((part, i) => (i % 2 === 1 ? part : part.split('\n').map((line) => (QUOTED.test(line) ? line : linkLine(line, cited, options))).join('\n')))
    .join('');
}

// A quoted passage is the source's own text: a literal "[1]" in it is not this reply's citation.
const QUOTED = /^ {0,3}>/;

export interface CiteOptions {
  /** The knowledge base shows citations as footnotes: a bare superscript number, no brackets. */
  footnotes?: boolean;
}

// As the server reads markers (agents/citations.ts): not an image, link, escaped, or a reference link's label ("[docs][1]"); "[1][2]" is two.
const MARKER = /(?<!\\|!|[^\d[]\])\[(\d{1,2})\](?!\()/g;

function linkLine(line: string, cited: ReadonlySet<number>, options: CiteOptions): string {
  return line.replace(MARKER, (m, n: string) => (cited.has(Number(n)) ? (options.footnotes ? `[${n}](#cite-${n})` : `[[${n}]](#cite-${n})`) : m));
}

/** Safe HTML for a message's Markdown text. */
export function renderMarkdown(text: string, cited: ReadonlySet<number> = new Set(), options: CiteOptions = {}): string {
  hookLinks();
  const html = marked.parse(linkCitations(text, cited, options)) as string;
  return DOMPurify.sanitize(html, { FORBID_TAGS, FORBID_ATTR, ALLOW_DATA_ATTR: false });
}
