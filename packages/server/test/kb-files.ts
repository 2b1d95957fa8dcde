// Real files of every format a knowledge base takes, made in memory for tests.
import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';
import * as XLSX from 'xlsx';

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A PDF whose pages hold the given lines (ASCII through Helvetica; other text through a Type0 font with a ToUnicode map). */
export function makePdf(pages: string[][], options: { title?: string } = {}): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body) - 1 + 1;
  const catalog = add('');
  const pagesObj = add('');
  const helv = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  // CIDs are the UTF-16 code units themselves; the ToUnicode map names each one used.
  const used = [...new Set(pages.flat().join(''))].map((c) => c.charCodeAt(0).toString(16).padStart(4, '0'));
  const chars = [];
  for (let i = 0; i < used.length; i += 100) {
    const slice = used.slice(i, i + 100);
    chars.push(`${slice.length} beginbfchar ${slice.map((h) => `<${h}> <${h}>`).join(' ')} endbfchar`);
  }
  const cmap = `/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Identity-UCS def 1 begincodespacerange <0000> <FFFF> endcodespacerange ${chars.join(' ')} endcmap CMapName currentdict /CMap defineresource pop end end`;
  const toUnicode = add(`<< /Length ${cmap.length} >>\nstream\n${cmap}\nendstream`);
  const descriptor = add('<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>');
  const cid = add(`<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor ${descriptor} 0 R /DW 1000 >>`);
  const cjk = add(`<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [${cid} 0 R] /ToUnicode ${toUnicode} 0 R >>`);
  const pageIds: number[] = [];
  for (const lines of pages) {
    const ops = lines.map((line, i) => {
      const y = 760 - i * 24;
      // eslint-disable-next-line no-control-regex
      if (/^[\x20-\x7e]*$/.test(line)) return `BT /F1 12 Tf 50 ${y} Td (${line.replace(/[()\\]/g, (c) => `\\${c}`)}) Tj ET`;
      const hex = Array.from(line, (c) => c.charCodeAt(0).toString(16).padStart(4, '0')).join('');
      return `BT /F2 12 Tf 50 ${y} Td <${hex}> Tj ET`;
    });
    // A page without lines is a "scan": one grey rectangle and no text.
    const content = lines.length ? ops.join('\n') : '0.5 g 50 50 500 700 re f';
    const stream = add(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    pageIds.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Contents ${stream} 0 R /Resources << /Font << /F1 ${helv} 0 R /F2 ${cjk} 0 R >> >> >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;
  const info = options.title ? add(`<< /Title (${options.title}) >>`) : undefined;
  return pdfFile(objects, catalog, info);
}

/** Numbered objects (1-based, in order) written out with their cross-reference table and trailer. */
function pdfFile(objects: string[], catalog: number, info?: number): Uint8Array {
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R${info ? ` /Info ${info} 0 R` : ''} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * A scan as a scanner makes it: each page one RGB image and no text layer.
 * Page n's image is `width × height` pixels of a shade that tells pages
 * apart, every seventh pixel black. Pages named in `typed` hold that line of
 * (ASCII) text instead, as a typed document with a scanned appendix would.
 */
export function makeScannedPdf(pages: number, options: { width?: number; height?: number; typed?: Record<number, string> } = {}): Uint8Array {
  const { width = 40, height = 24, typed = {} } = options;
  const objects: string[] = [];
  const add = (body: string) => objects.push(body);
  const catalog = add('');
  const pagesObj = add('');
  const helv = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const pageIds: number[] = [];
  for (let p = 1; p <= pages; p++) {
    const line = typed[p];
    let content: string;
    let resources: string;
    if (line !== undefined) {
      content = `BT /F1 12 Tf 50 760 Td (${line.replace(/[()\\]/g, (c) => `\\${c}`)}) Tj ET`;
      resources = `<< /Font << /F1 ${helv} 0 R >> >>`;
    } else {
      const shade = String.fromCharCode(40 * p);
      const pixels = Array.from({ length: width * height }, (_, i) => (i % 7 === 0 ? '\u0000\u0000\u0000' : shade + shade + shade)).join('');
      const image = add(`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length ${pixels.length} >>\nstream\n${pixels}\nendstream`);
      content = 'q 500 0 0 700 50 50 cm /Scan Do Q';
      resources = `<< /XObject << /Scan ${image} 0 R >> >>`;
    }
    const stream = add(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    pageIds.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Contents ${stream} 0 R /Resources ${resources} >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;
  return pdfFile(objects, catalog);
}

export type DocxBlock = { heading: string; level?: number } | { paragraph: string } | { table: string[][] };

/** A Word document with styled headings, paragraphs and tables. */
export function makeDocx(blocks: DocxBlock[]): Uint8Array {
  const body = blocks.map((b) => {
    if ('heading' in b) return `<w:p><w:pPr><w:pStyle w:val="Heading${b.level ?? 1}"/></w:pPr><w:r><w:t>${xmlEscape(b.heading)}</w:t></w:r></w:p>`;
    if ('paragraph' in b) return `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(b.paragraph)}</w:t></w:r></w:p>`;
    const rows = b.table.map((r) => `<w:tr>${r.map((c) => `<w:tc><w:p><w:r><w:t>${xmlEscape(c)}</w:t></w:r></w:p></w:tc>`).join('')}</w:tr>`).join('');
    return `<w:tbl>${rows}</w:tbl>`;
  }).join('');
  const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  const styles = [1, 2, 3].map((n) => `<w:style w:type="paragraph" w:styleId="Heading${n}"><w:name w:val="heading ${n}"/></w:style>`).join('');
  return zipSync({
    '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>'),
    '_rels/.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
    'word/_rels/document.xml.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>'),
    'word/document.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${body}</w:body></w:document>`),
    'word/styles.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:styles ${W}>${styles}</w:styles>`),
  });
}

/** A workbook of named sheets (rows of cells) as .xlsx, .xls (BIFF8) or .csv (first sheet). */
export function makeWorkbook(sheets: Record<string, unknown[][]>, bookType: 'xlsx' | 'biff8' | 'csv'): Uint8Array {
  const book = XLSX.utils.book_new();
  for (const [name, rows] of Object.entries(sheets)) XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet(rows), name);
  if (bookType === 'csv') return strToU8(XLSX.utils.sheet_to_csv(book.Sheets[book.SheetNames[0]!]!));
  return new Uint8Array(XLSX.write(book, { type: 'buffer', bookType }) as Buffer);
}

/** A presentation: each slide a title and bullet lines (a nested bullet starts with two spaces). */
export function makePptx(slides: { title: string; bullets: string[]; table?: string[][] }[]): Uint8Array {
  const A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
  const para = (text: string) => {
    const level = text.startsWith('  ') ? 1 : 0;
    return `<a:p><a:pPr lvl="${level}"/><a:r><a:t>${xmlEscape(text.trim())}</a:t></a:r></a:p>`;
  };
  const files: Record<string, Uint8Array> = {
    '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'),
    'ppt/presentation.xml': strToU8(`<?xml version="1.0"?><p:presentation ${A}/>`),
  };
  slides.forEach((s, i) => {
    const table = s.table
      ? `<p:graphicFrame><a:graphic><a:graphicData><a:tbl>${s.table.map((r) => `<a:tr>${r.map((c) => `<a:tc><a:txBody><a:p><a:r><a:t>${xmlEscape(c)}</a:t></a:r></a:p></a:txBody></a:tc>`).join('')}</a:tr>`).join('')}</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`
      : '';
    files[`ppt/slides/slide${i + 1}.xml`] = strToU8(`<?xml version="1.0"?><p:sld ${A}><p:cSld><p:spTree>`
      + `<p:sp><p:nvSpPr><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>${xmlEscape(s.title)}</a:t></a:r></a:p></p:txBody></p:sp>`
      + `<p:sp><p:nvSpPr><p:nvPr><p:ph idx="1"/></p:nvPr></p:nvSpPr><p:txBody>${s.bullets.map(para).join('')}</p:txBody></p:sp>${table}`
      + '</p:spTree></p:cSld></p:sld>');
  });
  return zipSync(files);
}

/** A .docx-shaped zip whose one entry inflates to `megabytes` MiB of zeros: a zip bomb, made without holding it in memory. */
export function makeZipBomb(megabytes: number, name = 'word/document.xml'): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    const zip = new Zip((err, chunk, final) => {
      if (err) return reject(err);
      parts.push(chunk);
      if (final) resolve(Buffer.concat(parts));
    });
    const entry = new ZipDeflate(name, { level: 9 });
    zip.add(entry);
    const block = new Uint8Array(1024 * 1024);
    for (let i = 0; i < megabytes; i++) entry.push(block, i === megabytes - 1);
    zip.end();
  });
}

/** An .xlsx with `count` tiny sheets, written by hand: SheetJS takes minutes to write thousands. */
export function makeManySheets(count: number): Uint8Array {
  const S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  const R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const files: Record<string, Uint8Array> = {
    '[Content_Types].xml': strToU8(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${ids.map((i) => `<Override PartName="/xl/worksheets/sheet${i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('')}</Types>`),
    '_rels/.rels': strToU8('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    'xl/workbook.xml': strToU8(`<?xml version="1.0"?><workbook ${S} ${R}><sheets>${ids.map((i) => `<sheet name="S${i}" sheetId="${i}" r:id="rId${i}"/>`).join('')}</sheets></workbook>`),
    'xl/_rels/workbook.xml.rels': strToU8(`<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${ids.map((i) => `<Relationship Id="rId${i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i}.xml"/>`).join('')}</Relationships>`),
  };
  for (const i of ids) files[`xl/worksheets/sheet${i}.xml`] = strToU8(`<?xml version="1.0"?><worksheet ${S}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>${i}</t></is></c></row></sheetData></worksheet>`);
  return zipSync(files);
}
