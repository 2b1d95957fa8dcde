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
    const kind = lineKind(line, fence);
    fence = kind.fence;
    return kind.prose;
  });
}

/** Whether a line is prose, given the fence open before it, and the fence open after it. */
function lineKind(line: string, fence: string | undefined): { prose: boolean; fence: string | undefined } {
  const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
  if (fence) {
    const closes = open !== undefined && open[0] === fence[0] && open.length >= fence.length && line.trim() === open;
    return { prose: false, fence: closes ? undefined : fence };
  }
  if (open) return { prose: false, fence: open };
  return { prose: !/^ {0,3}>/.test(line), fence: undefined };
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
 * - none: no markers and no sources; the answer reads as plain text (the
 *   markers are taken out as it streams too: MarkerStripper).
 */
export function applyCitationStyle(
  text: string,
  citations: ReplyCitation[],
  style: CitationStyle,
): { text: string; citations: ReplyCitation[]; citation_style?: CitationStyle } {
  if (style === 'numbered') return { text, citations };
  if (style === 'footnotes') return { text, citations, ...(citations.length > 0 && { citation_style: style }) };
  return { text: stripMarkers(text), citations: [] };
}

/** The text without its [n] markers (outside code and quotes, as citedNumbers reads them), and no space left before punctuation. */
export function stripMarkers(text: string): string {
  const lines = text.split('\n');
  const prose = proseMask(lines);
  return lines.map((line, i) => (prose[i] ? stripLine(line) : line)).join('\n');
}

const LEADING_MARKER = new RegExp(`^${MARKER.source} (?=\\S)`);
const SPACED_MARKER = new RegExp(` ?${MARKER.source}`, 'g');

/** One prose line without its markers; a kb-answer header line "[1] Title" loses its marker and the space after it. */
function stripLine(line: string): string {
  return line
    .replace(LEADING_MARKER, '')
    .split(/(`[^`\n]*`)/)
    .map((part, j) => (j % 2 === 1 ? part : part.replace(SPACED_MARKER, '').replace(/ +([.,;:!?。，；：！？])/g, '$1')))
    .join('');
}

/**
 * stripMarkers for a reply as it streams (citation style `none`): what is
 * passed on is always the start of what stripMarkers makes of the whole
 * reply, so the streamed text and the stored one agree. What could still
 * change is held back: the end of a line that may be a marker in the making
 * ("[", "[1", "[1]" before a possible "("), trailing spaces (a marker or a
 * full stop may follow), an inline code span not yet closed, and the first
 * characters of a line that may open a fence or a quote.
 */
export class MarkerStripper {
  private line = '';
  private sent = 0;
  private fence: string | undefined;

  push(delta: string): string {
    let out = '';
    let rest = delta;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      this.line += rest.slice(0, nl);
      out += this.finishLine() + '\n';
      rest = rest.slice(nl + 1);
    }
    this.line += rest;
    return out + this.partial();
  }

  /** What is still held, at the end of the reply. */
  flush(): string {
    return this.finishLine();
  }

  private finishLine(): string {
    const prose = this.prose(this.line, true);
    const whole = prose ? stripLine(this.line) : this.line;
    const out = whole.slice(this.sent);
    this.line = '';
    this.sent = 0;
    return out;
  }

  private partial(): string {
    const line = this.line;
    // Too short to tell a fence or a quote from prose.
    if (/^ {0,3}(`{0,2}|~{0,2})$/.test(line)) return '';
    if (!this.prose(line, false)) return this.take(line);
    let safe = line;
    const ticks = safe.split('`').length - 1;
    if (ticks % 2 === 1) safe = safe.slice(0, safe.lastIndexOf('`'));
    const open = safe.lastIndexOf('[');
    if (open >= 0 && /^\[\d{0,2}\]?$/.test(safe.slice(open))) safe = safe.slice(0, open);
    safe = safe.replace(/ +$/, '');
    return this.take(stripLine(safe));
  }

  private take(shown: string): string {
    if (shown.length <= this.sent) return '';
    const out = shown.slice(this.sent);
    this.sent = shown.length;
    return out;
  }

  /** Whether the line is prose, as proseMask would say; a finished line moves the fence state on. */
  private prose(line: string, finished: boolean): boolean {
    const kind = lineKind(line, this.fence);
    if (finished) this.fence = kind.fence;
    return kind.prose;
  }
}
