import * as XLSX from 'xlsx';
import { countTokens } from '../text.ts';
import { markdownTable } from './escape.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits, type SourceFormat } from './types.ts';
import { checkZip } from './zip.ts';
import { decodeCsv } from './decode-csv.ts';

// A row group is one chunk's worth of table, so a chunk is never half a table without its header.
const GROUP_TOKENS = 220;

/**
 * Spreadsheets (XLSX, XLS, CSV) as one section per sheet and one table per
 * group of rows: "Sheet Prices › Rows 2–21", each table with the header row
 * repeated, so a citation names the sheet and rows and every chunk reads alone.
 */
export function parseSheet(data: Uint8Array, format: Extract<SourceFormat, 'xlsx' | 'xls' | 'csv'>, limits: ParseLimits): ParsedDocument {
  if (format === 'xlsx') checkZip(data, limits, 'spreadsheet');
  const input = format === 'csv' ? { data: decodeCsv(data), type: 'string' as const } : { data: Buffer.from(data), type: 'buffer' as const };
  // The sheet names first (cheap): a workbook of thousands of sheets is refused before any sheet is read.
  const names = readWorkbook(input, { bookSheets: true }).SheetNames;
  if (names.length > limits.maxSheets) throw new ParseFailure(`This workbook has ${names.length} sheets; at most ${limits.maxSheets} can be added. Keep the sheets that hold knowledge and re-upload.`);
  const book = readWorkbook(input, { sheetRows: limits.maxRowsPerSheet + 1, cellFormula: false, cellHTML: false, cellStyles: false });
  const sections: string[] = [];
  for (const name of book.SheetNames) {
    const sheet = book.Sheets[name];
    if (!sheet) continue;
    const rows = (XLSX.utils.sheet_to_json<unknown[]>(sheet, { header: 1, raw: false, blankrows: false, defval: '' }) as unknown[][])
      .filter((r) => r.some((c) => String(c ?? '').trim()));
    if (rows.length > limits.maxRowsPerSheet) throw new ParseFailure(`Sheet "${name}" has more than ${limits.maxRowsPerSheet} rows. Split it and re-upload.`);
    if (rows.length) sections.push(sheetMarkdown(format === 'csv' ? '' : name, rows));
  }
  if (!sections.length) throw new ParseFailure('The spreadsheet has no cells with text. Check that you uploaded the right file.');
  return { format, markdown: sections.join('\n\n'), parts: book.SheetNames.length };
}

function readWorkbook(input: { data: string | Buffer; type: 'string' | 'buffer' }, options: XLSX.ParsingOptions): XLSX.WorkBook {
  try {
    return XLSX.read(input.data, { ...options, type: input.type, dense: true });
  } catch (err) {
    if (err instanceof ParseFailure) throw err;
    throw new ParseFailure('This spreadsheet is damaged or of a kind that cannot be read. Save it again as .xlsx or .csv and re-upload.');
  }
}

function sheetMarkdown(name: string, rows: unknown[][]): string {
  const [header, ...body] = rows as [unknown[], ...unknown[][]];
  const out: string[] = name ? [`## Sheet ${name}`] : [];
  const level = name ? '###' : '##';
  if (!body.length) return [...out, markdownTable([header])].join('\n\n');
  let group: unknown[][] = [];
  let first = 2;
  let tokens = countTokens(markdownTable([header]));
  const flush = (next: number) => {
    out.push(`${level} ${next - 1 === first ? `Row ${first}` : `Rows ${first}–${next - 1}`}`, markdownTable([header, ...group]));
    group = [];
    first = next;
    tokens = countTokens(markdownTable([header]));
  };
  body.forEach((row, i) => {
    const rowTokens = countTokens(markdownTable([row]).split('\n')[0]!);
    if (group.length && tokens + rowTokens > GROUP_TOKENS) flush(i + 2);
    group.push(row);
    tokens += rowTokens;
  });
  if (group.length) flush(body.length + 2);
  return out.join('\n\n');
}

