import { extractText, getDocumentProxy } from 'unpdf';
import { escapeMarkdownLine } from './escape.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits } from './types.ts';

/**
 * A PDF's text layer, one "Page N" section per page so each chunk cites its
 * page. A PDF of scanned images has no text layer: it fails with "no text
 * found", which tells the operator to run OCR (or upload the source file).
 */
export async function parsePdf(data: Uint8Array, limits: ParseLimits): Promise<ParsedDocument> {
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(data), { isEvalSupported: false, stopAtErrors: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/password/i.test(message)) throw new ParseFailure('This PDF is protected by a password. Remove the password and upload it again.');
    throw new ParseFailure('This PDF is damaged or cut short and cannot be opened. Save or export it again and re-upload.');
  }
  if (pdf.numPages > limits.maxPages) throw new ParseFailure(`This PDF has ${pdf.numPages} pages; at most ${limits.maxPages} can be added. Split it into smaller files.`);
  let pages: string[];
  try {
    pages = (await extractText(pdf, { mergePages: false })).text;
  } catch {
    throw new ParseFailure('The text of this PDF cannot be read (the file is damaged). Save or export it again and re-upload.');
  }
  const title = await pdfTitle(pdf);
  const sections: string[] = [];
  pages.forEach((text, i) => {
    const body = pageMarkdown(text);
    if (body) sections.push(`## Page ${i + 1}\n\n${body}`);
  });
  if (!sections.length) {
    throw new ParseFailure('No text found: this PDF holds only images (a scan?). Run OCR on it, or upload the document it was made from.');
  }
  return { format: 'pdf', markdown: sections.join('\n\n'), parts: pages.length, ...(title ? { title } : {}) };
}

async function pdfTitle(pdf: Awaited<ReturnType<typeof getDocumentProxy>>): Promise<string | undefined> {
  try {
    const meta = await pdf.getMetadata();
    const title = (meta.info as { Title?: unknown } | undefined)?.Title;
    return typeof title === 'string' && title.trim() ? title.trim().slice(0, 300) : undefined;
  } catch {
    return undefined;
  }
}

/** Lines joined into paragraphs at blank lines; each line escaped so PDF text cannot become a heading. */
function pageMarkdown(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => p.split('\n').map((l) => escapeMarkdownLine(l.trimEnd())).filter((l) => l.trim()).join('\n'))
    .filter(Boolean)
    .join('\n\n');
}
