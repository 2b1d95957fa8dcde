import { describe, expect, it } from 'vitest';
import { linkCitations } from './markdown.ts';

// renderMarkdown needs a DOM (DOMPurify); the e2e suite checks it in a real browser.
describe('citation markers', () => {
  it('links [n] markers that match a citation, and leaves code, links and others alone', () => {
    const cited = new Set([1, 2]);
    expect(linkCitations('Use npm start [1], then [2].', cited)).toBe('Use npm start [[1]](#cite-1), then [[2]](#cite-2).');
    expect(linkCitations('Unknown [7] stays.', cited)).toBe('Unknown [7] stays.');
    expect(linkCitations('`arr[1]` and\n```\nx[1]\n```', cited)).toBe('`arr[1]` and\n```\nx[1]\n```');
    expect(linkCitations('a [1](http://x) link', cited)).toBe('a [1](http://x) link');
  });

  it('leaves a literal [1] inside a quoted passage alone, and links the marker before the quote', () => {
    const reply = '[1] Guide › Arrays (guide.md)\n> The first item is arr[1] in Lua, see [1] in the spec.\n>\n> ```lua\n> print(t[1])\n> ```';
    expect(linkCitations(reply, new Set([1]))).toBe('[[1]](#cite-1) Guide › Arrays (guide.md)\n> The first item is arr[1] in Lua, see [1] in the spec.\n>\n> ```lua\n> print(t[1])\n> ```');
  });

  it('links both of "[1][2]" but not the label of a reference link, and shows footnotes without brackets', () => {
    const cited = new Set([1, 2]);
    expect(linkCitations('Both [1][2].', cited)).toBe('Both [[1]](#cite-1)[[2]](#cite-2).');
    expect(linkCitations('See [the docs][1].', cited)).toBe('See [the docs][1].');
    expect(linkCitations('Two years [1].', cited, { footnotes: true })).toBe('Two years [1](#cite-1).');
  });
});
