import { describe, expect, it } from 'vitest';
import { chunkDocument, chunkDocumentInSlices, packBlocks } from './chunk.ts';
import { countTokens } from './text.ts';
import type { KbDocument } from './types.ts';

const doc = (text: string, source = 'guide.md'): KbDocument => ({
  id: 'doc1',
  app_id: 'app1',
  kb_id: 'kb1',
  title: 'Guide',
  source,
  text,
});

const sentence = (i: number) => `Step ${i} of the install copies the server binary into place and checks it.`;
const longParagraph = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');

describe('chunkDocument', () => {
  it('chunks by headings first, each chunk remembering its heading path', () => {
    const chunks = chunkDocument(
      doc('---\ntitle: Guide\n---\n# Quick start\n\nWelcome.\n\n## Install\n\nRun npm i.\n\n## Run\n\nRun npm start.'),
    );
    expect(chunks.map((c) => [c.heading_path.join(' › '), c.text])).toEqual([
      ['Quick start', 'Welcome.'],
      ['Quick start › Install', 'Run npm i.'],
      ['Quick start › Run', 'Run npm start.'],
    ]);
    expect(chunks.map((c) => c.id)).toEqual(['doc1#0', 'doc1#1', 'doc1#2']);
    expect(chunks[1]).toMatchObject({ app_id: 'app1', kb_id: 'kb1', document_id: 'doc1', ordinal: 1, title: 'Guide' });
    expect(chunks.every((c) => !c.text.includes('title: Guide'))).toBe(true);
  });

  it('packs a long section to the token target with overlap between neighbours', () => {
    const chunks = chunkDocument(doc(`# Install\n\n${longParagraph}`), { targetTokens: 100, overlapTokens: 25 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const chunk of chunks) {
      expect(chunk.tokens).toBe(countTokens(chunk.text));
      expect(chunk.tokens).toBeLessThanOrEqual(100);
      expect(chunk.heading_path).toEqual(['Install']);
    }
    for (let i = 1; i < chunks.length; i++) {
      // The next chunk opens with the previous chunk's last sentence, and no more than the overlap.
      const lastSentence = /Step \d+[^.]*\.$/.exec(chunks[i - 1]!.text)![0];
      expect(chunks[i]!.text.startsWith(lastSentence)).toBe(true);
      expect(countTokens(lastSentence)).toBeLessThanOrEqual(25);
    }
    // Nothing is lost: every sentence appears in some chunk.
    for (let i = 0; i < 40; i++) expect(chunks.some((c) => c.text.includes(sentence(i)))).toBe(true);
  });

  it('does not overlap across headings', () => {
    const chunks = chunkDocument(doc(`# A\n\nAlpha only.\n\n# B\n\nBeta only.`), { targetTokens: 100 });
    expect(chunks.map((c) => c.text)).toEqual(['Alpha only.', 'Beta only.']);
  });

  it('keeps a code fence whole when it fits the hard limit, even past the target', () => {
    const code = Array.from({ length: 30 }, (_, i) => `echo "line ${i}"`).join('\n');
    const fence = '```sh\n' + code + '\n```';
    const chunks = chunkDocument(doc(`# Script\n\nBefore the script.\n\n${fence}\n\nAfter it.`), {
      targetTokens: 120,
      maxTokens: 400,
    });
    expect(countTokens(fence)).toBeGreaterThan(120);
    expect(chunks.filter((c) => c.text.includes('```'))).toHaveLength(1);
    expect(chunks.some((c) => c.text === fence)).toBe(true);
    // Overlap never copies part of a fence into the next chunk.
    expect(chunks.find((c) => c.text.includes('After it.'))!.text).toBe('After it.');
  });

  it('splits a fence beyond the hard limit into pieces that are each a valid fence', () => {
    const code = Array.from({ length: 120 }, (_, i) => `const value${i} = compute(${i});`).join('\n');
    const chunks = chunkDocument(doc('# Big\n\n```ts\n' + code + '\n```'), { targetTokens: 150, maxTokens: 300 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.tokens).toBeLessThanOrEqual(150);
      expect(chunk.text.startsWith('```ts\n')).toBe(true);
      expect(chunk.text.endsWith('\n```')).toBe(true);
    }
    expect(chunks.map((c) => c.text.slice(6, -4)).join('\n')).toBe(code);
  });

  it('splits a sentence longer than the target at word boundaries', () => {
    const run = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkDocument(doc(run, 'notes.txt'), { targetTokens: 60, overlapTokens: 10 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.tokens).toBeLessThanOrEqual(60);
      expect(chunk.text).toMatch(/^word\d+/);
    }
  });

  it('reads .txt as plain text: # lines are not headings', () => {
    const chunks = chunkDocument(doc('# not a heading\n\nbody', 'notes.txt'));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.heading_path).toEqual([]);
    expect(chunks[0]!.text).toBe('# not a heading\n\nbody');
  });

  it('packs Chinese text by tokens and sentences', () => {
    const zh = Array.from({ length: 30 }, (_, i) => `第${i}条：退款申请提交后，我们会在七个工作日内原路退回款项。`).join('');
    const chunks = chunkDocument(doc(`# 退款政策\n\n${zh}`), { targetTokens: 120, overlapTokens: 30 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(120);
    expect(chunks[1]!.text.startsWith(/第\d+条[^。]*。$/.exec(chunks[0]!.text)![0])).toBe(true);
  });

  it('treats special-token text in a document as text', () => {
    expect(chunkDocument(doc('Never type <|endoftext|> here.'))[0]!.text).toBe('Never type <|endoftext|> here.');
  });

  it('returns no chunks for an empty document', () => {
    expect(chunkDocument(doc('---\ntitle: x\n---\n\n'))).toEqual([]);
  });
});

describe('packBlocks', () => {
  it('joins small blocks into one chunk with blank lines between them', () => {
    expect(packBlocks([{ text: 'One.' }, { text: '- a\n- b' }])).toEqual(['One.\n\n- a\n- b']);
  });
});

describe('chunkDocument on pathological input', () => {
  it('splits a 200 KB blob without spaces into bounded chunks, quickly', () => {
    const blob = 'QUJD'.repeat(50_000);
    const started = performance.now();
    const chunks = chunkDocument(doc(blob, 'blob.txt'), { targetTokens: 300 });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(chunks.map((c) => c.text).join('')).toBe(blob);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(300);
  });
});

describe('chunkDocumentInSlices', () => {
  it('gives the same chunks as chunkDocument, letting the event loop run between sections', async () => {
    const section = (i: number) => `## Part ${i}\n\n${'Warbler keeps every message and every token in the ledger. '.repeat(60)}\n\n`;
    const doc: KbDocument = { id: 'big', app_id: 'app1', kb_id: 'kb1', title: 'Big', source: 'big.md', text: Array.from({ length: 40 }, (_, i) => section(i)).join('') };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const sliced = await chunkDocumentInSlices(doc, {}, 0);
    clearInterval(timer);
    expect(sliced).toEqual(chunkDocument(doc));
    expect(ticks).toBeGreaterThan(0);
  });
});
