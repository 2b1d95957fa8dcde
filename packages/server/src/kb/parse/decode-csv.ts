// Kept apart from sheet.ts: the HTML and CSV paths and the rest of the server
// decode text with it without loading the spreadsheet library.

/** UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030: what Excel in China saves a CSV as. */
export function decodeCsv(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}
