/** Text from a PDF or slide is data: a line that would read as a heading or fence in Markdown is escaped. */
export function escapeMarkdownLine(line: string): string {
  return /^\s{0,3}(#|```|~~~|=+\s*$|-{3,}\s*$)/.test(line) ? `\\${line.trimStart()}` : line;
}

/** A table cell on one line, with its pipes escaped. */
export function tableCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|').trim();
}

/** A GitHub-style Markdown table; the first row is the header. */
export function markdownTable(rows: readonly (readonly unknown[])[]): string {
  if (!rows.length) return '';
  const width = Math.max(...rows.map((r) => r.length), 1);
  const line = (r: readonly unknown[]) => `| ${Array.from({ length: width }, (_, i) => tableCell(r[i])).join(' | ')} |`;
  return [line(rows[0]!), `|${' --- |'.repeat(width)}`, ...rows.slice(1).map(line)].join('\n');
}

export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}
