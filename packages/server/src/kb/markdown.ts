/** A run of text under one heading path; blocks are paragraphs, lists or whole code fences. */
export interface Section {
  headingPath: string[];
  blocks: Block[];
}

export interface Block {
  text: string;
  /** A fenced code block, kept whole whenever it fits in a chunk. */
  fence?: Fence;
}

export interface Fence {
  /** The opening line, e.g. "```ts", repeated on each piece when a long fence must be split. */
  open: string;
  /** The closing line, e.g. "```". */
  close: string;
  /** The lines between them. */
  body: string;
}

const FRONT_MATTER = /^(---|\+\+\+)[ \t]*\n([\s\S]*?)\n\1[ \t]*(?:\n|$)/;

/** Removes YAML (---) or TOML (+++) front matter; returns its `title` when it has one. */
export function stripFrontMatter(markdown: string): { body: string; title?: string } {
  const text = normalizeNewlines(markdown);
  const match = FRONT_MATTER.exec(text);
  if (!match) return { body: text };
  const titleLine = /^title[ \t]*[:=][ \t]*(.+?)[ \t]*$/m.exec(match[2] ?? '');
  const title = titleLine?.[1] ? unquote(titleLine[1]) : undefined;
  return { body: text.slice(match[0].length), ...(title ? { title } : {}) };
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$/;
// A line that starts a list item or quote cannot be a setext heading's text.
const NOT_HEADING_TEXT = /^ {0,3}([-*+>]|\d+[.)])(\s|$)/;

/** Splits Markdown (front matter already stripped) into sections by ATX and setext headings. */
export function markdownSections(markdown: string, options: { keepEmpty?: boolean } = {}): Section[] {
  const sections: Section[] = [];
  const headings: { level: number; text: string }[] = [];
  let blocks: Block[] = [];
  let paragraph: string[] = [];
  let fence: { marker: string; open: string; lines: string[] } | undefined;

  const flushParagraph = () => {
    const text = paragraph.join('\n').trim();
    if (text) blocks.push({ text });
    paragraph = [];
  };
  const startSection = (level: number, text: string) => {
    flushParagraph();
    if (blocks.length || (options.keepEmpty && headings.length)) {
      sections.push({ headingPath: headings.map((h) => h.text), blocks });
    }
    blocks = [];
    while (headings.length && headings[headings.length - 1]!.level >= level) headings.pop();
    if (text) headings.push({ level, text });
  };

  for (const line of normalizeNewlines(markdown).split('\n')) {
    if (fence) {
      fence.lines.push(line);
      if (closesFence(line, fence.marker)) {
        blocks.push(fenceBlock(fence, line.trim(), true));
        fence = undefined;
      }
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open && !(open[1]!.startsWith('`') && open[2]!.includes('`'))) {
      flushParagraph();
      fence = { marker: open[1]!, open: line.trim(), lines: [line] };
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      startSection(atx[1]!.length, headingText(atx[2] ?? ''));
      continue;
    }
    const setext = SETEXT.exec(line);
    if (setext && paragraph.length && !NOT_HEADING_TEXT.test(paragraph[0]!)) {
      const text = headingText(paragraph.join(' '));
      paragraph = [];
      startSection(setext[1]!.startsWith('=') ? 1 : 2, text);
      continue;
    }
    if (line.trim() === '' || THEMATIC_BREAK.test(line)) flushParagraph();
    else paragraph.push(line);
  }
  // An unclosed fence runs to the end of the document, as in CommonMark.
  if (fence) blocks.push(fenceBlock(fence, fence.marker, false));
  startSection(0, '');
  return sections;
}

/** Plain text has no headings: one section, one block per paragraph. */
export function textSections(text: string): Section[] {
  const blocks = normalizeNewlines(text)
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => ({ text: p }));
  return blocks.length ? [{ headingPath: [], blocks }] : [];
}

/** The text of the first heading, for documents without a title of their own. */
export function firstHeading(markdown: string): string | undefined {
  for (const section of markdownSections(markdown, { keepEmpty: true })) {
    if (section.headingPath[0]) return section.headingPath[0];
  }
  return undefined;
}

function closesFence(line: string, marker: string): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return !!m && m[1]![0] === marker[0] && m[1]!.length >= marker.length;
}

function fenceBlock(fence: { open: string; lines: string[] }, close: string, closed: boolean): Block {
  const body = fence.lines.slice(1, closed ? -1 : undefined).join('\n');
  return { text: fence.lines.join('\n').trim(), fence: { open: fence.open, close, body } };
}

/** Heading text without inline Markdown, so citations read as plain words. */
function headingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_~]+/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function normalizeNewlines(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

function unquote(value: string): string {
  const m = /^(["'])(.*)\1$/.exec(value);
  return m ? m[2]! : value;
}
