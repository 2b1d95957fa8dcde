import { describe, expect, it } from 'vitest';
import type { Passage } from '../kb/index.ts';
import { applyCitationStyle, citationsIn, citedNumbers, MarkerStripper, stripMarkers } from './citations.ts';

const passage = (n: number, text: string, heading_path: string[] = []): Passage => ({
  score: 1,
  chunk: { id: `d${n}#0`, app_id: 'a', kb_id: 'kb', document_id: `d${n}`, ordinal: 0, title: `Doc ${n}`, source: `doc${n}.md`, heading_path, text, tokens: 10 },
});

describe('citations in a reply', () => {
  it('reads [n] markers in prose only: not in code blocks, code spans, quotes or links', () => {
    const text = [
      'Install it first [1], then configure it [3].',
      '> quoted: see [2]',
      '```',
      'arr[4] = 1',
      '```',
      'Use `a[5]` or [the docs](https://x.test) or [6](https://y.test) or [ref][7], both [1][8].',
    ].join('\n');
    expect(citedNumbers(text)).toEqual([1, 3, 8]);
  });

  it('quotes each cited passage whole, with the page or sheet it came from', () => {
    const code = 'Run:\n\n```sh\n' + 'echo step\n'.repeat(80) + '```';
    const cited = citationsIn('See [2] and [1]. Also [9].', [passage(1, code, ['Guide', 'Page 3']), passage(2, 'Short.', ['Prices', 'Sheet Prices', 'Rows 2–21'])]);
    expect(cited.map((c) => c.index)).toEqual([1, 2]);
    expect(cited[0]!.snippet).toBe(code);
    expect(cited[0]).toMatchObject({ heading: 'Guide › Page 3', location: 'Page 3', kb_id: 'kb', chunk_id: 'd1#0' });
    expect(cited[1]!.location).toBe('Sheet Prices › Rows 2–21');
  });
});

describe('citation styles', () => {
  const cited = citationsIn('Two years [1].', [passage(1, 'Covered for two years.')]);

  it('numbered keeps the markers and the sources', () => {
    expect(applyCitationStyle('Two years [1].', cited, 'numbered')).toEqual({ text: 'Two years [1].', citations: cited });
  });

  it('footnotes keeps both and says how to show them', () => {
    expect(applyCitationStyle('Two years [1].', cited, 'footnotes')).toEqual({ text: 'Two years [1].', citations: cited, citation_style: 'footnotes' });
  });

  it('none takes the markers out of the prose and drops the sources', () => {
    expect(applyCitationStyle('Two years [1].', cited, 'none')).toEqual({ text: 'Two years.', citations: [] });
  });

  it('strips markers but leaves quotes, code and the kb-answer header readable', () => {
    const text = '[1] Install (install.md)\n> note [2] stays\n\nRun `x[1]` now [1][2], 两年[1]。\n```\nx[1]\n```';
    expect(stripMarkers(text)).toBe('Install (install.md)\n> note [2] stays\n\nRun `x[1]` now, 两年。\n```\nx[1]\n```');
  });
});

describe('markers taken out as a reply streams (style none)', () => {
  const streamed = (chunks: string[]): { out: string; pieces: string[] } => {
    const stripper = new MarkerStripper();
    const pieces = chunks.map((c) => stripper.push(c));
    pieces.push(stripper.flush());
    return { out: pieces.join(''), pieces };
  };
  const replies = [
    '[1] Install (install.md)\n> note [2] stays\n\nRun `x[1]` now [1][2], 两年[1]。\n```\nx[1]\n```',
    'Covered for two years [1]. See [the docs](https://x.test) and [3](https://y.test) or [ref][4]; escaped \\[5] and ![6].',
    '退货需在七天内申请 [2]，运费由卖家承担[1]。\n\n~~~\nlist[12] = 0\n~~~\nDone [12] .',
    ' indented [1] line\n  > quote [1]\n`` `[1]` `` tail [1]',
  ];

  it('streams the same text stripMarkers makes of the whole reply, however it is cut', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const reply of replies) {
      expect(streamed([...reply]).out).toBe(stripMarkers(reply));
      for (let round = 0; round < 200; round++) {
        const chunks: string[] = [];
        for (let i = 0; i < reply.length; ) {
          const n = 1 + Math.floor(random() * 6);
          chunks.push(reply.slice(i, i + n));
          i += n;
        }
        expect(streamed(chunks).out).toBe(stripMarkers(reply));
      }
    }
  });

  it('holds back only what may still be a marker: the words before it are shown at once', () => {
    const { pieces } = streamed(['Two years ', '[', '1', ']', '.', ' Ask again.']);
    expect(pieces).toEqual(['Two years', '', '', '', '.', ' Ask again.', '']);
  });

  it('never shows a marker split across chunks', () => {
    const { pieces } = streamed(['See [', '1] and [2', '] now']);
    expect(pieces.join('|')).not.toMatch(/\[\d/);
    expect(pieces.join('')).toBe('See and now');
  });
});
