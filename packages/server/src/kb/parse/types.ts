/** The formats a knowledge base takes; every one is turned into Markdown before chunking. */
export const SOURCE_FORMATS = ['markdown', 'text', 'pdf', 'docx', 'xlsx', 'xls', 'csv', 'html', 'pptx'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/**
 * A parsed document: Markdown whose headings carry where each part came from
 * ("Page 3", "Sheet Prices › Rows 2–21", "Slide 4: Pricing"), so a chunk's
 * heading path is the place a citation points to.
 */
export interface ParsedDocument {
  format: SourceFormat;
  markdown: string;
  title?: string;
  /** Pages, sheets or slides read. */
  parts: number;
  /**
   * A PDF with no text layer, when OCR is on (`maxOcrPages` > 0): each
   * scanned page's image as PNG, for a vision model to read. `markdown` is
   * holds the typed pages only then; the ingestion queue adds what the model reads.
   */
  scans?: ScannedPage[];
  /** With `scans`: the pages that had text, as their "## Page N" sections, for the queue to merge in page order. */
  typedPages?: TypedPage[];
}

export interface TypedPage {
  page: number;
  markdown: string;
}

export interface ScannedPage {
  page: number;
  png: Uint8Array;
}

/** Bounds on what one file may cost to read; a file past any of them fails with a reason. */
export interface ParseLimits {
  /** The file itself. */
  maxFileBytes: number;
  /** Sum of the uncompressed sizes inside a zip container (DOCX, XLSX, PPTX). */
  maxUnzippedBytes: number;
  maxZipEntries: number;
  maxPages: number;
  maxSheets: number;
  maxRowsPerSheet: number;
  maxSlides: number;
  /** Characters of Markdown produced. */
  maxChars: number;
  /** Pages of a scan (a PDF with no text layer) handed to OCR; 0 turns OCR off and such a PDF fails with "no text found". */
  maxOcrPages: number;
}

export const defaultParseLimits: ParseLimits = {
  maxFileBytes: 20 * 1024 * 1024,
  maxUnzippedBytes: 200 * 1024 * 1024,
  maxZipEntries: 5_000,
  maxPages: 2_000,
  maxSheets: 100,
  maxRowsPerSheet: 50_000,
  maxSlides: 1_000,
  maxChars: 10 * 1024 * 1024,
  maxOcrPages: 0,
};

/** A file that cannot be read, with a reason a person can act on. */
export class ParseFailure extends Error {
  override name = 'ParseFailure';
}
