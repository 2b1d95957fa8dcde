import mammoth from 'mammoth';
import { htmlToMarkdown } from './html.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits } from './types.ts';
import { checkZip } from './zip.ts';

/** A Word document through mammoth (styles to headings, lists, tables) to HTML, then Markdown. */
export async function parseDocx(data: Uint8Array, limits: ParseLimits): Promise<ParsedDocument> {
  const names = checkZip(data, limits, 'Word document');
  if (!names.includes('word/document.xml')) throw new ParseFailure('This is not a Word (.docx) document: it has no word/document.xml. Save it as .docx and re-upload.');
  let html: string;
  try {
    // Images would be inlined as data URLs: text is what a knowledge base keeps.
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(data) }, { convertImage: mammoth.images.imgElement(async () => ({ src: '' })) })).value;
  } catch {
    throw new ParseFailure('This Word document is damaged and cannot be read. Open it in Word, save it again and re-upload.');
  }
  return { format: 'docx', markdown: htmlToMarkdown(html).replace(/!\[[^\]]*\]\(\)/g, ''), parts: 1 };
}
