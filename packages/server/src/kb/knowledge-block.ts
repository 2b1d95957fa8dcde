import type { Chunk, Passage } from './types.ts';

/**
 * One passage as it appears in a knowledge block: what a model (and the
 * local kb-answer model, which reads the block back) gets to see and cite.
 */
export interface KnowledgePassage {
  /** The number of its [n] marker. */
  index: number;
  title: string;
  heading_path: string[];
  source: string;
  text: string;
  /** Known when built from a search hit; a block parsed from text does not carry it. */
  document_id?: string;
}

const OPEN = '<knowledge>';
const CLOSE = '</knowledge>';
const SEPARATOR = ' › ';
const HEADER = /^\[(\d+)\] (.+)$/;
// Passage lines that would read as a header or a tag are escaped with a
// backslash (Markdown renders "\[" as "["), so a document that happens to
// contain "[2] …" or "</knowledge>" cannot cut or forge a passage. Lines that
// already start with backslashes get one more, so unescaping is exact.
const NEEDS_ESCAPE = /^\\*(?:\[\d+\] |<\/?knowledge>[ \t]*$)/;
const ESCAPED = /^\\+(?:\[\d+\] |<\/?knowledge>[ \t]*$)/;

/** Search hits numbered from 1 in rank order, as the agent runtime puts them in front of a model. */
export function knowledgePassages(passages: readonly Passage[]): KnowledgePassage[] {
  return passages.map(({ chunk }, i) => ({
    index: i + 1,
    title: chunk.title,
    heading_path: [...chunk.heading_path],
    source: chunk.source,
    text: chunk.text,
    document_id: chunk.document_id,
  }));
}

/**
 * The knowledge block of a system message:
 *
 *     <knowledge>
 *     [1] Title › Heading path (source)
 *     passage text...
 *
 *     [2] ...
 *     </knowledge>
 *
 * Search hits are numbered from `start` (1) in the order given; a tool call
 * that adds passages later continues the numbering. KnowledgePassages keep
 * their own `index`. No passages give an empty block: "searched, found
 * nothing" is not the same as "no knowledge base".
 */
export function formatKnowledgeBlock(passages: readonly (Passage | KnowledgePassage)[], start = 1): string {
  const entries = passages.map((p, i) => {
    const k = 'chunk' in p ? { ...toKnowledge(p.chunk), index: start + i } : p;
    return `[${k.index}] ${knowledgeLabel(k)}\n${escapeText(k.text.trim())}`;
  });
  return [OPEN, entries.join('\n\n'), CLOSE].filter(Boolean).join('\n');
}

/**
 * The passages of every knowledge block in `text`, in order; `undefined` when
 * there is no block at all. Tags must stand on their own lines; a block left
 * open runs to the end of the text.
 */
export function parseKnowledgeBlock(text: string): KnowledgePassage[] | undefined {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let found = false;
  let inside = false;
  const passages: KnowledgePassage[] = [];
  let current: { passage: KnowledgePassage; lines: string[] } | undefined;
  let previousBlank = true;
  const finish = () => {
    if (!current) return;
    current.passage.text = current.lines.join('\n').trim();
    passages.push(current.passage);
    current = undefined;
  };
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (!inside) {
      if (line === OPEN) {
        found = inside = true;
        previousBlank = true;
      }
      continue;
    }
    if (line === CLOSE) {
      finish();
      inside = false;
      continue;
    }
    const header = HEADER.exec(line);
    const index = header ? Number(header[1]) : NaN;
    // A header starts a paragraph and counts up; anything else is passage text
    // (a hand-written block may not escape a numbered list inside a passage).
    const last = current?.passage.index ?? passages.at(-1)?.index ?? 0;
    if (header && previousBlank && index > last) {
      finish();
      current = { passage: { index, ...parseLabel(header[2]!), text: '' }, lines: [] };
    } else if (current) {
      current.lines.push(ESCAPED.test(line) ? line.slice(1) : line);
    }
    previousBlank = line.trim() === '';
  }
  finish();
  return found ? passages : undefined;
}

/** "Title › Heading › Subheading (source)"; a first heading that repeats the title is left out. */
export function knowledgeLabel(p: Pick<KnowledgePassage, 'title' | 'heading_path' | 'source'>): string {
  const title = oneLine(p.title) || oneLine(p.source) || 'Untitled';
  const headings = p.heading_path.map(oneLine).filter(Boolean);
  const path = [title, ...(headings[0] === title ? headings.slice(1) : headings)].join(SEPARATOR);
  const source = oneLine(p.source);
  return source ? `${path} (${source})` : path;
}

function parseLabel(label: string): Pick<KnowledgePassage, 'title' | 'heading_path' | 'source'> {
  let rest = label.trim();
  let source = '';
  const open = rest.endsWith(')') ? matchingParen(rest) : -1;
  // "(source)" needs a space before it, so "Agents(beta)" stays a title.
  if (open > 0 && rest[open - 1] === ' ') {
    source = rest.slice(open + 1, -1);
    rest = rest.slice(0, open - 1).trimEnd();
  }
  const [title = '', ...heading_path] = rest.split(SEPARATOR);
  return { title, heading_path, source };
}

/** Where the parenthesis that closes `text` opens, counting nested pairs (a source like "faq (old).md"). */
function matchingParen(text: string): number {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(' && --depth === 0) return i;
  }
  return -1;
}

function toKnowledge(chunk: Chunk): Omit<KnowledgePassage, 'index'> {
  return { title: chunk.title, heading_path: chunk.heading_path, source: chunk.source, text: chunk.text, document_id: chunk.document_id };
}

function escapeText(text: string): string {
  return text
    .split('\n')
    .map((line) => (NEEDS_ESCAPE.test(line) ? `\\${line}` : line))
    .join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
