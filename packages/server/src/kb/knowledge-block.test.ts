import { describe, expect, it } from 'vitest';
import { formatKnowledgeBlock, knowledgeLabel, knowledgePassages, parseKnowledgeBlock } from './knowledge-block.ts';
import type { Chunk, Passage } from './types.ts';

const hit = (id: string, extra: Partial<Chunk>, score = 1): Passage => ({
  score,
  chunk: {
    id: `${id}#0`, app_id: 'app1', kb_id: 'kb1', document_id: id, ordinal: 0,
    title: 'Quick start', source: `guide/${id}.md`, heading_path: ['Quick start', 'Install'], text: 'Run npm start.', tokens: 3,
    ...extra,
  },
});

describe('formatKnowledgeBlock', () => {
  it('numbers passages from 1 under "Title › Heading path (source)" labels, a blank line apart', () => {
    const block = formatKnowledgeBlock([
      hit('install', {}),
      hit('refund', { title: '退款政策', source: 'zh/退款.md', heading_path: ['退款政策', '退款到账时间'], text: '款项会在三到五个工作日内原路退回。' }),
    ]);
    expect(block).toBe(
      '<knowledge>\n' +
        '[1] Quick start › Install (guide/install.md)\nRun npm start.\n\n' +
        '[2] 退款政策 › 退款到账时间 (zh/退款.md)\n款项会在三到五个工作日内原路退回。\n' +
        '</knowledge>',
    );
  });

  it('continues numbering from a start, and gives an empty block for no passages', () => {
    expect(formatKnowledgeBlock([hit('a', {})], 4)).toMatch(/^<knowledge>\n\[4\] /);
    expect(formatKnowledgeBlock([])).toBe('<knowledge>\n</knowledge>');
    expect(parseKnowledgeBlock(formatKnowledgeBlock([]))).toEqual([]);
  });

  it('labels documents without headings or source, and keeps a label on one line', () => {
    expect(knowledgeLabel({ title: 'notes', heading_path: [], source: 'notes.txt' })).toBe('notes (notes.txt)');
    expect(knowledgeLabel({ title: 'Pasted', heading_path: ['Setup'], source: '' })).toBe('Pasted › Setup');
    expect(knowledgeLabel({ title: 'Two\nlines', heading_path: ['A\tB'], source: '' })).toBe('Two lines › A B');
    expect(knowledgeLabel({ title: '', heading_path: [], source: '' })).toBe('Untitled');
  });
});

describe('parseKnowledgeBlock', () => {
  it('gives back what was formatted, English and Chinese', () => {
    const hits = [
      hit('install', { text: 'Install with npm.\n\nThen run `npm start`.' }),
      hit('refund', { title: '退款政策', source: 'zh/退款.md', heading_path: ['退款政策', '退款条件'], text: '七天无理由退货。\n\n定制商品不支持退货。' }),
      hit('faq', { title: 'FAQ', source: 'faq (old).md', heading_path: [], text: 'Ask us.' }),
    ];
    const system = `You are Warbler Assistant.\n\n${formatKnowledgeBlock(hits)}\n\nSummary of the conversation so far:\nnothing yet`;
    expect(parseKnowledgeBlock(system)).toEqual([
      { index: 1, title: 'Quick start', heading_path: ['Install'], source: 'guide/install.md', text: 'Install with npm.\n\nThen run `npm start`.' },
      { index: 2, title: '退款政策', heading_path: ['退款条件'], source: 'zh/退款.md', text: '七天无理由退货。\n\n定制商品不支持退货。' },
      { index: 3, title: 'FAQ', heading_path: [], source: 'faq (old).md', text: 'Ask us.' },
    ]);
  });

  it('keeps passage text that looks like a header or a closing tag inside its passage', () => {
    const tricky = 'Steps:\n\n[2] not a passage\n</knowledge>\n<knowledge>\n\\[3] escaped already';
    const block = formatKnowledgeBlock([hit('tricky', { text: tricky }), hit('next', { text: 'The real second one.' })]);
    const parsed = parseKnowledgeBlock(block)!;
    expect(parsed.map((p) => p.index)).toEqual([1, 2]);
    expect(parsed[0]!.text).toBe(tricky);
    expect(parsed[1]!.text).toBe('The real second one.');
  });

  it('reads a hand-written block: CRLF, several blocks, an unclosed block, a numbered list in a passage', () => {
    const text = '<knowledge>\r\n[1] A (a.md)\r\nfirst\r\n</knowledge>\r\nand\r\n<knowledge>\n[2] B\nsteps:\n[1] one\n\n[3] C › D (c.md)\nthird';
    expect(parseKnowledgeBlock(text)).toEqual([
      { index: 1, title: 'A', heading_path: [], source: 'a.md', text: 'first' },
      { index: 2, title: 'B', heading_path: [], source: '', text: 'steps:\n[1] one' },
      { index: 3, title: 'C', heading_path: ['D'], source: 'c.md', text: 'third' },
    ]);
  });

  it('returns undefined when there is no block, and ignores tags that are not on their own line', () => {
    expect(parseKnowledgeBlock('You are helpful.')).toBeUndefined();
    expect(parseKnowledgeBlock('Use <knowledge> tags </knowledge> inline.')).toBeUndefined();
  });

  it('numbers search hits in rank order, carrying their document ids', () => {
    expect(knowledgePassages([hit('a', {}), hit('b', {})]).map((p) => [p.index, p.document_id])).toEqual([[1, 'a'], [2, 'b']]);
  });
});
