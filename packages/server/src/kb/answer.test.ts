import { describe, expect, it } from 'vitest';
import { answerFromPassages } from './answer.ts';
import { bestSnippet } from './snippet.ts';
import { countTokens } from './text.ts';
import type { Chunk, Passage } from './types.ts';

const passage = (id: string, text: string, score: number, extra: Partial<Chunk> = {}): Passage => ({
  score,
  chunk: {
    id: `${id}#0`,
    app_id: 'app1',
    kb_id: 'kb1',
    document_id: id,
    ordinal: 0,
    title: 'Quick start',
    source: `docs/${id}.md`,
    heading_path: ['Quick start', 'Install'],
    text,
    tokens: 0,
    ...extra,
  },
});

const install = passage(
  'quick-start',
  'Warbler is a chat server for apps. Install the server with npm. Node 20 or newer is required. ' +
    'Afterwards, open the console in your browser. The console shows every agent.',
  12,
);
const port = passage('config', 'The server listens on port 3000. Change the port with --port.', 6, {
  title: 'Configuration',
  heading_path: ['Configuration', 'Network'],
});

describe('answerFromPassages', () => {
  it('quotes a passage that fits whole, its code block intact and a literal [1] in it left as text', () => {
    const code = passage('cli', 'Start the server:\n\n```sh\nnpm start -- --port 3000\nwarbler serve [1]\n```\n\nThen open the console.', 10);
    const { text, citations } = answerFromPassages('how do I start the server', [code]);
    expect(citations[0]!.snippet).toBe('Start the server:\n\n```sh\nnpm start -- --port 3000\nwarbler serve [1]\n```\n\nThen open the console.');
    expect(text).toContain('> ```sh\n> npm start -- --port 3000\n> warbler serve [1]\n> ```');
  });

  it('a long passage is quoted by its best sentences, but a code block in it is never cut', () => {
    const fence = ['```sh', ...Array.from({ length: 30 }, (_, i) => `echo step ${i} of the install script`), '```'].join('\n');
    const long = passage('long', `Install the server like this.\n\n${fence}`, 10);
    const { citations } = answerFromPassages('install script', [long], 'en', { wholeTokens: 50, maxSnippetTokens: 40 });
    expect(citations[0]!.snippet).toContain(fence);
  });

  it('quotes the best passages with numbered markers and says it writes nothing of its own', () => {
    const { text, citations } = answerFromPassages('How do I install the server and which port does it use?', [
      install,
      port,
    ], 'en', { wholeTokens: 0 });
    expect(text).toBe(
      [
        "I found these passages in the knowledge base. I only quote them; I don't write answers of my own.",
        '[1] Quick start › Install (docs/quick-start.md)\n> Warbler is a chat server for apps. Install the server with npm. …',
        '[2] Configuration › Network (docs/config.md)\n> The server listens on port 3000. Change the port with --port.',
      ].join('\n\n'),
    );
    expect(citations).toEqual([
      {
        index: 1,
        document_id: 'quick-start',
        title: 'Quick start',
        heading: 'Quick start › Install',
        source: 'docs/quick-start.md',
        snippet: 'Warbler is a chat server for apps. Install the server with npm. …',
      },
      {
        index: 2,
        document_id: 'config',
        title: 'Configuration',
        heading: 'Configuration › Network',
        source: 'docs/config.md',
        snippet: 'The server listens on port 3000. Change the port with --port.',
      },
    ]);
  });

  it('answers a Chinese question in Chinese, quoting without adding spaces between sentences', () => {
    const refund = passage(
      'refund',
      '退款审核通过后，款项会在三到五个工作日内原路退回。如果超过十个工作日仍未到账，请联系客服。客服每天九点到十八点在线。',
      9,
      { title: '退款政策', heading_path: ['退款政策', '退款到账时间'] },
    );
    const { text, citations } = answerFromPassages('退款多久能到账？', [refund], 'en', { wholeTokens: 0 });
    expect(text).toBe(
      '我在知识库中找到了这些段落。以下是原文引用，我不会自己生成回答。\n\n' +
        '[1] 退款政策 › 退款到账时间 (docs/refund.md)\n' +
        '> 退款审核通过后，款项会在三到五个工作日内原路退回。如果超过十个工作日仍未到账，请联系客服。 …',
    );
    expect(citations[0]!.heading).toBe('退款政策 › 退款到账时间');
  });

  it('says it found nothing and suggests rephrasing, in the question’s language', () => {
    expect(answerFromPassages('What is the weather like?', [])).toEqual({
      text: 'I found nothing in the knowledge base that matches your question. Try rephrasing it, or use the words the documents would use.',
      citations: [],
    });
    expect(answerFromPassages('今天天气怎么样？', [], 'en').text).toBe(
      '我在知识库中没有找到与你的问题相关的内容。请换个说法，或者用文档里可能出现的关键词再问一次。',
    );
  });

  it('falls back to the locale when the question shows no language', () => {
    expect(answerFromPassages('???', [], 'zh-CN').text).toMatch(/^我在知识库中没有找到/);
    expect(answerFromPassages('???', [], 'en-US').text).toMatch(/^I found nothing/);
  });

  it('leaves out weak passages, passages past the limit, and repeated quotes', () => {
    const weak = passage('weak', 'Install notes for an old version.', 1);
    const repeat = passage('repeat', 'Install the server with npm.', 11);
    const many = Array.from({ length: 5 }, (_, i) => passage(`p${i}`, `Install step ${i}.`, 10 - i));
    expect(answerFromPassages('install', [install, weak]).citations.map((c) => c.document_id)).toEqual(['quick-start']);
    expect(answerFromPassages('install server', [install, repeat]).citations).toHaveLength(1);
    expect(answerFromPassages('install', many).citations).toHaveLength(3);
    expect(answerFromPassages('install', many, 'en', { maxQuotes: 5 }).citations).toHaveLength(5);
  });

  it('labels a document without headings by its title and source', () => {
    const note = passage('notes', 'Backups run nightly.', 3, { title: 'notes', source: 'notes.txt', heading_path: [] });
    const { text, citations } = answerFromPassages('when do backups run', [note]);
    expect(text).toContain('[1] notes (notes.txt)\n> Backups run nightly.');
    expect(citations[0]!.heading).toBe('');
  });
});

describe('bestSnippet', () => {
  const text =
    'Warbler keeps every message. Agents answer from the knowledge base. ' +
    'Budgets stop an agent before it spends too much. Prices are per million tokens. The ledger records each call.';

  it('keeps the matching sentences in order and marks what was left out', () => {
    expect(bestSnippet('What do budgets and prices do?', text)).toBe(
      '… Budgets stop an agent before it spends too much. Prices are per million tokens. …',
    );
  });

  it('opens the passage when only its heading matched', () => {
    expect(bestSnippet('unrelated words', text, 20)).toBe('Warbler keeps every message. Agents answer from the knowledge base. …');
  });

  it('keeps a matching code fence whole and on its own lines', () => {
    const withCode = 'Run this to start:\n\n```sh\nnpx warbler serve\n```\n\nThen open the console.';
    expect(bestSnippet('warbler serve', withCode)).toBe('…\n```sh\nnpx warbler serve\n```\n…');
  });

  it('quotes whole sentences of hard-wrapped Markdown, joining Chinese lines without a space', () => {
    const wrapped = 'SQLite is the default and needs nothing. To keep everything in PostgreSQL\ninstead, set WARBLER_DATABASE_URL to a postgres URL.\n\n- a list item\n- another';
    expect(bestSnippet('How do I use PostgreSQL?', wrapped)).toBe('… To keep everything in PostgreSQL instead, set WARBLER_DATABASE_URL to a postgres URL. …');
    expect(bestSnippet('数据库', '默认使用 SQLite。要把数据保存到\n数据库，请设置地址。')).toBe('… 要把数据保存到数据库，请设置地址。');
  });

  it('cuts a single over-long sentence at a word boundary', () => {
    const long = `Refunds ${'are always processed carefully and '.repeat(40)}end.`;
    const snippet = bestSnippet('refunds', long, 30);
    expect(snippet.startsWith('Refunds are always')).toBe(true);
    expect(snippet.endsWith(' …')).toBe(true);
    expect(countTokens(snippet)).toBeLessThanOrEqual(32);
  });
});
