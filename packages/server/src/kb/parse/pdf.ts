import { extractImages, extractText, getDocumentProxy } from 'unpdf';
import { escapeMarkdownLine } from './escape.ts';
import { downscale, encodePng, type RawImage } from './png.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits, type ScannedPage, type TypedPage } from './types.ts';

/**
 * A PDF's text layer, one "Page N" section per page so each chunk cites its
 * page. A PDF of scanned images has no text layer: with OCR on, its pages'
 * images go back for a vision model to read; with OCR off it fails with "no
 * text found", which tells the operator how to turn OCR on.
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
  const typed: TypedPage[] = [];
  const textless: number[] = [];
  pages.forEach((text, i) => {
    const body = pageMarkdown(text);
    if (body) typed.push({ page: i + 1, markdown: `## Page ${i + 1}\n\n${body}` });
    else textless.push(i + 1);
  });
  const sections = typed.map((t) => t.markdown);
  const markdown = sections.join('\n\n');
  const base = { format: 'pdf' as const, markdown, parts: pages.length, ...(title ? { title } : {}) };
  if (limits.maxOcrPages <= 0 || textless.length === 0) {
    if (!sections.length) {
      throw new ParseFailure('No text found: this PDF holds only images (a scan?). Turn on OCR (set WARBLER_KB_OCR_MODEL to a vision model, such as gpt-4o-mini), or upload the document it was made from.');
    }
    return base;
  }
  // OCR on: the pages without a text layer (all of a scan, or the scanned appendix of a typed document).
  if (textless.length > limits.maxOcrPages) {
    const what = sections.length ? `${textless.length} of its ${pdf.numPages} pages are scans` : `is a scan of ${pdf.numPages} pages`;
    throw new ParseFailure(`This PDF ${what}; OCR reads at most ${limits.maxOcrPages}. Split it into smaller files.`);
  }
  const scans = await scannedPages(pdf, textless);
  if (!sections.length && !scans.length) throw new ParseFailure('No text found, and no page holds an image to read: this PDF looks empty.');
  return scans.length ? { ...base, scans, typedPages: typed } : base;
}

/** A vision model reads about this many pixels well; more only costs tokens (OpenAI tiles high detail at 2048 px). */
const OCR_MAX_PIXELS = 2048 * 2048;

/** Each listed page's largest image (the scan itself, not a logo stamped on it), as PNG; pages with no image are left out. */
async function scannedPages(pdf: Awaited<ReturnType<typeof getDocumentProxy>>, pageNumbers: readonly number[]): Promise<ScannedPage[]> {
  const scans: ScannedPage[] = [];
  for (const page of pageNumbers) {
    let images: RawImage[];
    try {
      images = (await extractImages(pdf, page)) as RawImage[];
    } catch {
      throw new ParseFailure(`The images of page ${page} cannot be read (the file is damaged). Save or export it again and re-upload.`);
    }
    const largest = images.filter((i) => i.width > 0 && i.height > 0).sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (largest) scans.push({ page, png: encodePng(downscale(largest, OCR_MAX_PIXELS)) });
  }
  return scans;
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
