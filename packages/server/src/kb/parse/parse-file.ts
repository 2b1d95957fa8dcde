import { decodeText } from '../decode-text.ts';
import { decodeCsv } from './decode-csv.ts';
import { byteSizeText } from './size.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits, type SourceFormat } from './types.ts';

/**
 * One file to Markdown, in this thread. The server calls it through
 * parseBounded (a worker with a memory limit and a time budget); tests and
 * tools may call it directly.
 */
export async function parseFile(data: Uint8Array, format: SourceFormat, limits: ParseLimits): Promise<ParsedDocument> {
  if (data.byteLength > limits.maxFileBytes) throw new ParseFailure(`The file is larger than ${byteSizeText(limits.maxFileBytes)}. Split it into smaller files.`);
  if (data.byteLength === 0) throw new ParseFailure('The file is empty.');
  const parsed = await parseByFormat(data, format, limits);
  if (parsed.markdown.length > limits.maxChars) {
    throw new ParseFailure(`The file holds more than ${byteSizeText(limits.maxChars)} of text; split it into smaller documents.`);
  }
  if (!parsed.markdown.trim() && !parsed.scans?.length) throw new ParseFailure('No text found in this file.');
  return parsed;
}

// Each format's parser is loaded when a file of that format comes: the libraries (pdf.js, SheetJS with its
// code pages, mammoth, linkedom and turndown) are megabytes of heap that every major GC would otherwise mark
// in a process that parses nothing (parsing runs in a worker: bounded.ts).
async function parseByFormat(data: Uint8Array, format: SourceFormat, limits: ParseLimits): Promise<ParsedDocument> {
  switch (format) {
    case 'pdf': return (await import('./pdf.ts')).parsePdf(data, limits);
    case 'docx': return (await import('./docx.ts')).parseDocx(data, limits);
    case 'xlsx':
    case 'xls':
    case 'csv': return (await import('./sheet.ts')).parseSheet(data, format, limits);
    case 'pptx': return (await import('./pptx.ts')).parsePptx(data, limits);
    case 'html': return (await import('./html.ts')).parseHtml(decodeCsv(data));
    case 'markdown':
    case 'text': {
      const text = decodeText(data);
      if (text === undefined) throw new ParseFailure('The file is not UTF-8 (or UTF-16) text. Save it as UTF-8 and re-upload.');
      return { format, markdown: text, parts: 1 };
    }
  }
}
