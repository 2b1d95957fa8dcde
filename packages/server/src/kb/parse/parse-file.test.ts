import { describe, expect, it } from 'vitest';
import { makeDocx, makeManySheets, makePdf, makePptx, makeWorkbook, makeZipBomb } from '../../../test/kb-files.ts';
import { defaultParseLimits, parseBounded, parseFile, ParseFailure } from './index.ts';

const L = defaultParseLimits;

describe('parseFile: every format to Markdown whose headings say where a chunk came from', () => {
  it('PDF: one section per page, English and Chinese; a scanned page is skipped', async () => {
    const pdf = makePdf([['Refund policy', 'Refunds are paid within 14 days.'], [], ['退款政策', '七天内可以无理由退货。']], { title: 'Handbook' });
    const parsed = await parseFile(pdf, 'pdf', L);
    expect(parsed.title).toBe('Handbook');
    expect(parsed.markdown).toBe('## Page 1\n\nRefund policy\nRefunds are paid within 14 days.\n\n## Page 3\n\n退款政策\n七天内可以无理由退货。');
  });

  it('PDF text that looks like a heading stays text', async () => {
    const parsed = await parseFile(makePdf([['# not a heading']]), 'pdf', L);
    expect(parsed.markdown).toBe('## Page 1\n\n\\# not a heading');
  });

  it('DOCX: Word headings, paragraphs and tables', async () => {
    const docx = makeDocx([{ heading: '安装指南' }, { paragraph: 'Run npm install.' }, { heading: 'Plans', level: 2 }, { table: [['Plan', '价格'], ['Pro', '$10']] }]);
    expect((await parseFile(docx, 'docx', L)).markdown).toBe('# 安装指南\n\nRun npm install.\n\n## Plans\n\n| Plan | 价格 |\n| --- | --- |\n| Pro | $10 |');
  });

  it('XLSX and XLS: a section per sheet, rows grouped under "Rows a–b" with the header repeated', async () => {
    const rows = [['Question', '答案'], ...Array.from({ length: 60 }, (_, i) => [`How do I reset password ${i}?`, `在设置页面点击重置 ${i}`])];
    for (const [type, format] of [['xlsx', 'xlsx'], ['biff8', 'xls']] as const) {
      const md = (await parseFile(makeWorkbook({ FAQ: rows, Empty: [] }, type), format, L)).markdown;
      expect(md.startsWith('## Sheet FAQ\n\n### Rows 2–')).toBe(true);
      const groups = md.split(/^### /m).slice(1);
      expect(groups.length).toBeGreaterThan(2);
      for (const g of groups) expect(g).toContain('| Question | 答案 |');
      expect(md).toContain('| How do I reset password 59? | 在设置页面点击重置 59 |');
      expect(md).not.toContain('Sheet Empty');
    }
  });

  it('CSV: UTF-8 with a BOM and GB18030 (what Excel in China saves) both read as Chinese', async () => {
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('问题,答案\n怎么退款,联系客服\n')]);
    expect((await parseFile(utf8, 'csv', L)).markdown).toBe('## Row 2\n\n| 问题 | 答案 |\n| --- | --- |\n| 怎么退款 | 联系客服 |');
    // 问题,答案 / 退款,客服 in GB18030.
    const gb = Buffer.from('cecccce2,b4f0b0b8,0a,cdcbbfee,bfcdb7fe,0a'.replace(/,/g, '').replace(/0a/g, '0a'), 'hex');
    const gbText = Buffer.concat([Buffer.from('cecacce2', 'hex'), Buffer.from(','), Buffer.from('b4f0b0b8', 'hex'), Buffer.from('\n'), Buffer.from('cdcbbfee', 'hex'), Buffer.from(','), Buffer.from('bfcdb7fe', 'hex'), Buffer.from('\n')]);
    expect(gb.length).toBeGreaterThan(0);
    expect((await parseFile(gbText, 'csv', L)).markdown).toContain('| 问题 | 答案 |\n| --- | --- |\n| 退款 | 客服 |');
  });

  it('PPTX: a section per slide with its title, bullets as a nested list, tables', async () => {
    const pptx = makePptx([{ title: 'Roadmap & 计划', bullets: ['Grow', '  faster'] }, { title: 'Prices', bullets: ['One line'], table: [['Plan', 'Price'], ['Pro', '10']] }]);
    const parsed = await parseFile(pptx, 'pptx', L);
    expect(parsed.title).toBe('Roadmap & 计划');
    expect(parsed.markdown).toBe('## Slide 1: Roadmap & 计划\n\n- Grow\n  - faster\n\n## Slide 2: Prices\n\nOne line\n\n| Plan | Price |\n| --- | --- |\n| Pro | 10 |');
  });

  it('HTML: the article, not the navigation or scripts; lists and tables kept', async () => {
    const html = '<html><head><title>Shipping | Shop</title><script>alert(1)</script></head><body><nav><a href="/">Home</a> <a href="/x">Menu</a></nav><article><h1>Shipping</h1><p>We ship worldwide within five business days; tracking numbers are sent by email once the parcel leaves.</p><ul><li>EU</li><li>中国</li></ul><table><tr><th>Zone</th><th>Days</th></tr><tr><td>EU</td><td>3</td></tr></table></article><footer>© Shop</footer></body></html>';
    const md = (await parseFile(Buffer.from(html), 'html', L)).markdown;
    expect(md).toContain('We ship worldwide');
    expect(md).toMatch(/-\s+中国/);
    expect(md).toContain('| Zone | Days |\n| --- | --- |\n| EU | 3 |');
    expect(md).not.toContain('alert');
    expect(md).not.toContain('Menu');
  });
});

describe('hostile files fail with a reason a person can act on', () => {
  it('a scanned PDF: "No text found"', async () => {
    await expect(parseFile(makePdf([[], []]), 'pdf', L)).rejects.toThrow(/^No text found: this PDF holds only images/);
  });

  it('a truncated PDF', async () => {
    const pdf = makePdf([['Hello world']]);
    const err = await parseFile(pdf.subarray(0, 40), 'pdf', L).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseFailure);
    expect((err as Error).message).toMatch(/damaged or cut short|No text found/);
  });

  it('a zip bomb is refused from its directory, before anything is inflated', async () => {
    // 16 MiB of zeros in 16 KiB; the limit is lowered to match (a 200 MiB bomb takes 20 s just to make).
    const bomb = await makeZipBomb(16);
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    await expect(parseFile(bomb, 'docx', { ...L, maxUnzippedBytes: 8 * 1024 * 1024 })).rejects.toThrow('This Word document unpacks to more than 8 MiB; split it into smaller files.');
  });

  it('a 10,000-sheet workbook', async () => {
    const book = makeManySheets(10_000);
    await expect(parseBounded(book, 'xlsx', L)).rejects.toThrow('This spreadsheet holds more than 5000 files inside; it is not a document Warbler can read.');
    // With the entry limit out of the way, the sheet count stops it before any sheet is read.
    await expect(parseBounded(book, 'xlsx', { ...L, maxZipEntries: 100_000 })).rejects.toThrow('This workbook has 10000 sheets; at most 100 can be added.');
  }, 60_000);

  it('in a worker: a parse past its time budget is stopped, and a good file still parses', async () => {
    const pdf = makePdf(Array.from({ length: 50 }, (_, i) => [`Page ${i} text`]));
    await parseBounded(pdf, 'pdf', L);
    await expect(parseBounded(pdf, 'pdf', L, { timeoutMs: 1 })).rejects.toThrow(/took longer than/);
    const parsed = await parseBounded(pdf, 'pdf', L);
    expect(parsed.parts).toBe(50);
    expect(parsed.markdown).toContain('## Page 50\n\nPage 49 text');
  }, 30_000);

  it('in a worker: a zip that lies about its sizes fails cleanly, and the next file still parses', async () => {
    const lying = Buffer.from(await makeZipBomb(16));
    // Say 100 bytes where the central directory and local header give the real uncompressed size.
    for (const [sig, at] of [[0x02014b50, 24], [0x04034b50, 22]] as const) {
      for (let i = 0; i + 4 <= lying.length; i++) if (lying.readUInt32LE(i) === sig) lying.writeUInt32LE(100, i + at);
    }
    const err = await parseBounded(lying, 'docx', L).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseFailure);
    expect((err as Error).message).toMatch(/damaged|memory|could not be read/);
    expect((await parseBounded(makeDocx([{ paragraph: 'still here' }]), 'docx', L)).markdown).toBe('still here');
  }, 60_000);
});
