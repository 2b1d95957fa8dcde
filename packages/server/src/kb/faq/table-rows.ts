/**
 * The rows of the pipe tables in parsed Markdown (how the spreadsheet parser
 * writes sheets), header rows repeated per group dropped: a CSV or XLSX of
 * FAQs goes through the same bounded parser as any upload.
 */
export function tableRows(markdown: string): string[][] {
  const rows: string[][] = [];
  let header: string | undefined;
  let afterSeparator = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      afterSeparator = false;
      continue;
    }
    if (/^\|( --- \|)+$/.test(line)) {
      afterSeparator = true;
      continue;
    }
    const cells = splitRow(line);
    if (!afterSeparator) {
      // A header line: kept once, as the first row.
      if (header === undefined) rows.push(cells);
      header ??= line;
      continue;
    }
    rows.push(cells);
  }
  return rows;
}

function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  for (let i = 1; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '|') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  return cells;
}
