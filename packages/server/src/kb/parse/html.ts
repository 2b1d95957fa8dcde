import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';
import { markdownTable } from './escape.ts';
import type { ParsedDocument } from './types.ts';

/**
 * HTML to Markdown: Readability keeps the article and drops navigation,
 * footers and ads; a page it cannot make an article of keeps its whole body.
 * Scripts and styles never reach the text.
 */
export function parseHtml(html: string): ParsedDocument {
  const { document } = parseHTML(html);
  for (const el of document.querySelectorAll('script, style, noscript, template, iframe, object, embed')) el.remove();
  const pageTitle = document.querySelector('title')?.textContent?.trim();
  let content: string | undefined;
  let title: string | undefined = pageTitle || undefined;
  try {
    // Readability changes the document it reads; it gets a copy, and the body stays for the fallback.
    const copy = parseHTML(document.toString()).document;
    const article = new Readability(copy as unknown as Document, { charThreshold: 100 }).parse();
    if (article?.content && (article.textContent ?? '').trim().length >= 100) {
      content = article.content;
      title = article.title?.trim() || title;
    }
  } catch {
    // A page Readability chokes on is still a page: fall back to its body.
  }
  const markdown = htmlToMarkdown(content ?? document.body?.innerHTML ?? document.toString());
  return { format: 'html', markdown, parts: 1, ...(title ? { title: title.slice(0, 300) } : {}) };
}

/** Markdown from HTML with ATX headings, fenced code, '-' lists and pipe tables. */
export function htmlToMarkdown(html: string): string {
  const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-', emDelimiter: '*' });
  turndown.remove(['script', 'style', 'noscript', 'template', 'head']);
  turndown.addRule('table', {
    filter: 'table',
    replacement: (_content, node) => `\n\n${markdownTable(tableRows(node as unknown as Element))}\n\n`,
  });
  return turndown.turndown(html).replace(/\n{3,}/g, '\n\n').trim();
}

function tableRows(table: Element): string[][] {
  const rows: string[][] = [];
  for (const tr of Array.from(table.querySelectorAll('tr'))) {
    // Cells of a table nested in this one belong to it, not here.
    if (tr.closest('table') !== table) continue;
    rows.push(Array.from(tr.children).filter((c) => /^(td|th)$/i.test(c.tagName)).map((c) => (c.textContent ?? '').replace(/\s+/g, ' ').trim()));
  }
  return rows.filter((r) => r.some(Boolean));
}
