import { bestSnippet } from './snippet.ts';
import { countTokens, textLanguage } from './text.ts';
import type { Chunk, Citation, KbAnswer, Passage } from './types.ts';

export interface AnswerOptions {
  /** At most this many passages are quoted; 3 by default. */
  maxQuotes?: number;
  /** A passage of at most this many tokens is quoted whole; 400 by default. */
  wholeTokens?: number;
  /** A longer passage is quoted by its best sentences, about this many tokens; 120 by default. */
  maxSnippetTokens?: number;
  /** Passages scoring below this share of the best one are left out; 0.3 by default. */
  minRelativeScore?: number;
  /**
   * The number a quoted passage's [n] marker carries. By default quotes are
   * numbered 1, 2, 3 in the order quoted; a caller that already showed the
   * passages under numbers (a knowledge block) keeps those.
   */
  numbering?: (passage: Passage) => number;
}

const messages = {
  en: {
    intro: "I found these passages in the knowledge base. I only quote them; I don't write answers of my own.",
    nothing:
      'I found nothing in the knowledge base that matches your question. Try rephrasing it, or use the words the documents would use.',
  },
  zh: {
    intro: '我在知识库中找到了这些段落。以下是原文引用，我不会自己生成回答。',
    nothing: '我在知识库中没有找到与你的问题相关的内容。请换个说法，或者用文档里可能出现的关键词再问一次。',
  },
};

/**
 * The reply of the built-in `local/kb-answer` model: the best passages quoted
 * with [n] markers, and nothing of its own beyond saying so. It answers in the
 * question's language; `locale` decides only when the question shows none.
 */
export function answerFromPassages(
  question: string,
  passages: readonly Passage[],
  locale = 'en',
  options: AnswerOptions = {},
): KbAnswer {
  const lang = textLanguage(question) ?? (locale.toLowerCase().startsWith('zh') ? 'zh' : 'en');
  const quoted = quote(question, passages, options);
  const citations = quoted.map((q) => q.citation);
  if (!citations.length) return { text: messages[lang].nothing, citations };
  const quotes = quoted.map(({ citation, label }) => `[${citation.index}] ${label}\n${blockquote(citation.snippet)}`);
  return { text: [messages[lang].intro, ...quotes].join('\n\n'), citations };
}

function quote(question: string, passages: readonly Passage[], options: AnswerOptions) {
  const { maxQuotes = 3, maxSnippetTokens = 120, minRelativeScore = 0.3, wholeTokens = 400 } = options;
  const best = Math.max(0, ...passages.map((p) => p.score));
  const quoted: { citation: Citation; label: string }[] = [];
  for (const passage of [...passages].sort((a, b) => b.score - a.score)) {
    const { chunk, score } = passage;
    if (quoted.length >= maxQuotes || score <= 0 || score < best * minRelativeScore) break;
    // Whole when it fits: a passage is written to be read as one, and its lists and code blocks stay intact.
    const snippet = countTokens(chunk.text) <= wholeTokens ? chunk.text.trim() : bestSnippet(question, chunk.text, maxSnippetTokens);
    // Overlapping chunks of one section can yield the same sentences twice.
    const text = bare(snippet);
    if (quoted.some(({ citation }) => bare(citation.snippet).includes(text) || text.includes(bare(citation.snippet)))) {
      continue;
    }
    const citation: Citation = {
      index: options.numbering ? options.numbering(passage) : quoted.length + 1,
      document_id: chunk.document_id,
      title: chunk.title,
      heading: chunk.heading_path.join(' › '),
      source: chunk.source,
      snippet,
    };
    quoted.push({ citation, label: label(chunk) });
  }
  return quoted;
}

/** "Title › Section (source)", without repeating a first heading that is the title. */
function label(chunk: Chunk): string {
  const headings = chunk.heading_path[0] === chunk.title ? chunk.heading_path.slice(1) : chunk.heading_path;
  const where = [chunk.title, ...headings].filter(Boolean).join(' › ');
  return chunk.source && chunk.source !== chunk.title ? `${where} (${chunk.source})` : where;
}

function bare(snippet: string): string {
  return snippet.replace(/…/g, '').trim();
}

function blockquote(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `> ${line}` : '>'))
    .join('\n');
}
