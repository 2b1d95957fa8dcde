import type { CitationStyle, ReplyCitation as WireCitation } from '@warbler/protocol';
import type { Passage } from '../kb/index.ts';

/** One cited passage as a reply's content carries it (protocol ReplyCitation), with its location always set. */
export type ReplyCitation = Required<WireCitation>;

/**
 * "[n]" that is not an image or link ("![1]", "[1](url)"), not escaped ("\\[1]"), and not
 * the label of a reference link ("[docs][1]"); "[1][2]" is two markers.
 */
const MARKER = /(?<!\\|!|[^\d[]\])\[(\d{1,2})\](?!\()/g;

// Headings the file parsers write for where a part of a file came from (kb/parse).
const LOCATION = /^(Page \d+|Slide \d+(:.*)?|Sheet .+|Rows \d+.*)$/;

/**
 * Where a reply's text cites [n]: outside code (fenced blocks, inline spans)
 * and outside quoted passages (lines starting with ">"), since a "[1]" in a
 * quoted document or a snippet of code is that text's own, not a citation.
 * The web app links markers by the same rule (web/src/markdown.ts).
 */
export function citedNumbers(text: string): number[] {
  const used = new Set<number>();
  const lines = text.split('\n');
  const prose = proseMask(lines);
  for (const [i, line] of lines.entries()) {
    if (!prose[i]) continue;
    for (const m of line.replace(/`[^`\n]*`/g, '').matchAll(MARKER)) used.add(Number(m[1]));
  }
  return [...used].sort((a, b) => a - b);
}

/** Per line: true when it is neither inside (or opening, closing) a fenced code block nor part of a blockquote. */
function proseMask(lines: readonly string[]): boolean[] {
  let fence: string | undefined;
  return lines.map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (open && open[0] === fence[0] && open.length >= fence.length && line.trim() === open) fence = undefined;
      return false;
    }
    if (open) {
      fence = open;
      return false;
    }
    return !/^ {0,3}>/.test(line);
  });
}

/** The passages a reply cites by [n], in the order of their numbers, each quoted whole. */
export function citationsIn(text: string, passages: readonly Passage[]): ReplyCitation[] {
  return citedNumbers(text)
    .filter((n) => n >= 1 && n <= passages.length)
    .map((n) => {
      const { chunk } = passages[n - 1]!;
      return {
        index: n, kb_id: chunk.kb_id, document_id: chunk.document_id, chunk_id: chunk.id, title: chunk.title,
        heading: chunk.heading_path.join(' › '), location: chunk.heading_path.filter((h) => LOCATION.test(h)).join(' › '),
        source: chunk.source, snippet: chunk.text.trim(),
      };
    });
}

/**
 * A reply's text and citations as the knowledge base's citation style asks
 * (decided by the first attached knowledge base; the console sets it):
 * - numbered: [n] markers in the text, and the sources listed under it;
 * - footnotes: the same markers, shown as superscript footnotes with each
 *   passage quoted under the reply (the web app reads `citation_style`);
 * - none: no markers and no sources; the answer reads as plain text.
 */
export function applyCitationStyle(
  text: string,
  citations: ReplyCitation[],
  style: CitationStyle,
): { text: string; citations: ReplyCitation[]; citation_style?: CitationStyle } {
  if (style === 'numbered') return { text, citations };
  if (style === 'footnotes') return { text, citations, ...(citations.length > 0 && { citation_style: style }) };
  return { text: citations.length ? stripMarkers(text) : text, citations: [] };
}

/** The text without its [n] markers (outside code and quotes, as citedNumbers reads them), and no space left before punctuation. */
export function stripMarkers(text: string): string {
  const lines = text.split('\n');
  const prose = proseMask(lines);
  return lines
    .map((line, i) => {
      if (!prose[i]) return line;
      const stripped = line
        .split(/(`[^`\n]*`)/)
        .map((part, j) => (j % 2 === 1 ? part : part.replace(new RegExp(` ?${MARKER.source}`, 'g'), '').replace(/ +([.,;:!?。，；：！？])/g, '$1')))
        .join('');
      // A kb-answer header line "[1] Title" loses its marker and the space after it.
      return stripped === line ? line : stripped.replace(/^ (?=\S)/, '');
    })
    .join('\n');
}
