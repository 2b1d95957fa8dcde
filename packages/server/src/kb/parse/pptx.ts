import { decodeXmlEntities, escapeMarkdownLine, markdownTable } from './escape.ts';
import { ParseFailure, type ParsedDocument, type ParseLimits } from './types.ts';
import { readZipEntries } from './zip.ts';

const SLIDE = /^ppt\/slides\/slide(\d+)\.xml$/;

/**
 * A PowerPoint deck from its slide XML: one "Slide N: title" section per
 * slide (in slide-number order), bullets as list items, tables as tables.
 * Speaker notes and images are left out.
 */
export function parsePptx(data: Uint8Array, limits: ParseLimits): ParsedDocument {
  const entries = readZipEntries(data, (name) => SLIDE.test(name), limits, 'presentation');
  const slides = Object.keys(entries)
    .map((name) => ({ n: Number(SLIDE.exec(name)![1]), xml: new TextDecoder().decode(entries[name]) }))
    .sort((a, b) => a.n - b.n);
  if (!slides.length) throw new ParseFailure('This is not a PowerPoint (.pptx) presentation, or it has no slides. Save it as .pptx and re-upload.');
  if (slides.length > limits.maxSlides) throw new ParseFailure(`This presentation has ${slides.length} slides; at most ${limits.maxSlides} can be added.`);
  const sections = slides.map((s, i) => slideMarkdown(i + 1, s.xml)).filter(Boolean);
  if (!sections.length) throw new ParseFailure('No text found on any slide (only pictures?). Upload a version with text.');
  const title = /^## Slide 1: (.+)$/m.exec(sections[0]!)?.[1];
  return { format: 'pptx', markdown: sections.join('\n\n'), parts: slides.length, ...(title ? { title } : {}) };
}

function slideMarkdown(n: number, xml: string): string {
  let title = '';
  const blocks: string[] = [];
  for (const shape of xml.match(/<p:(sp|graphicFrame)\b[\s\S]*?<\/p:\1>/g) ?? []) {
    if (shape.includes('<a:tbl>') || shape.includes('<a:tbl ')) {
      blocks.push(markdownTable(tableRows(shape)));
      continue;
    }
    const paragraphs = paragraphsOf(shape);
    if (!paragraphs.length) continue;
    if (!title && /<p:ph\b[^>]*type="(title|ctrTitle)"/.test(shape)) {
      title = paragraphs.map((p) => p.text).join(' ');
      continue;
    }
    blocks.push(paragraphs.length === 1 ? escapeMarkdownLine(paragraphs[0]!.text) : paragraphs.map((p) => `${'  '.repeat(p.level)}- ${p.text}`).join('\n'));
  }
  if (!title && !blocks.length) return '';
  return [`## Slide ${n}${title ? `: ${title.replace(/\s+/g, ' ')}` : ''}`, ...blocks].join('\n\n');
}

function paragraphsOf(xml: string): { text: string; level: number }[] {
  const out: { text: string; level: number }[] = [];
  for (const p of xml.match(/<a:p>[\s\S]*?<\/a:p>|<a:p\s[\s\S]*?<\/a:p>/g) ?? []) {
    const text = runsText(p);
    if (!text) continue;
    const level = Number(/<a:pPr\b[^>]*\blvl="(\d)"/.exec(p)?.[1] ?? 0);
    out.push({ text, level: Math.min(level, 8) });
  }
  return out;
}

function runsText(xml: string): string {
  return decodeXmlEntities(Array.from(xml.matchAll(/<a:t>([\s\S]*?)<\/a:t>|<a:t\s[^>]*>([\s\S]*?)<\/a:t>/g), (m) => m[1] ?? m[2] ?? '').join(''))
    .replace(/\s+/g, ' ')
    .trim();
}

function tableRows(xml: string): string[][] {
  return (xml.match(/<a:tr\b[\s\S]*?<\/a:tr>/g) ?? []).map((tr) => (tr.match(/<a:tc\b[\s\S]*?<\/a:tc>/g) ?? []).map(runsText));
}
