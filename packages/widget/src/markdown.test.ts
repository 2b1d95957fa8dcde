// @vitest-environment node
import { describe, expect, it } from 'vitest';

// renderMarkdown draws DOM nodes; this checks the parts that decide what becomes markup, on a tiny DOM stand-in.
class Node_ {
  children: Array<Node_ | string> = [];
  constructor(readonly tag: string) {}
  append(...nodes: Array<Node_ | string>) {
    for (const n of nodes) this.children.push(...(n instanceof Node_ && n.tag === '#fragment' ? n.children : [n]));
  }
  setAttribute() {}
  toString(): string {
    const inner = this.children.map(String).join('');
    return this.tag === '#fragment' ? inner : `<${this.tag}>${inner}</${this.tag}>`;
  }
}
(globalThis as unknown as { document: unknown }).document = {
  createElement: (tag: string) => new Node_(tag),
  createDocumentFragment: () => new Node_('#fragment'),
};
const { renderMarkdown } = await import('./markdown.ts');
const html = (md: string) => String(renderMarkdown(md));

describe('the markdown the widget draws', () => {
  it('draws quotes, code blocks, inline code, bold and notes', () => {
    expect(html('I found these passages.\n\n[1] Guide\n> Run `npm start`.\n> ```sh\n> npm start\n> ```')).toBe(
      '<p>I found these passages.</p><p>[1] Guide</p><blockquote><p>Run <code>npm start</code>.</p><pre><code>npm start</code></pre></blockquote>');
    expect(html('**Note**: _(local/kb-answer cannot see images)_')).toBe('<p><strong>Note</strong>: <em>(local/kb-answer cannot see images)</em></p>');
    expect(html('snake_case_name stays')).toBe('<p>snake_case_name stays</p>');
  });

  it('keeps markup in the text as text', () => {
    expect(html('<img src=x onerror=alert(1)>')).toBe('<p><img src=x onerror=alert(1)></p>');
    // The stand-in prints strings raw: a string child, not an element, is what the DOM would escape.
    const fragment = renderMarkdown('<b>hi</b>') as unknown as Node_;
    expect((fragment.children[0] as Node_).children).toEqual(['<b>hi</b>']);
  });
});
