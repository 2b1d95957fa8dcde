import { randomBytes } from 'node:crypto';
import { FaqInput, type Faq } from '@warbler/protocol';
import { badRequest, notFound, WarblerError } from '../../errors.ts';
import { defaultParseLimits, detectFormat, parseBounded, ParseFailure } from '../parse/index.ts';
import type { KnowledgeBases } from '../service.ts';
import type { FaqRow, FaqStore } from './faq-store.ts';
import { questionSimilarity } from './match.ts';
import { tableRows } from './table-rows.ts';

/** What the FAQ room reads of a chat message: the rated reply and the question it answered. */
export interface RatedReplies {
  get(appId: string, messageId: string): Promise<{ id: string; text: string; reply_to: string | null; rated_up: boolean; from_agent: boolean } | undefined>;
}

export interface FaqsOptions {
  store: FaqStore;
  knowledge: Pick<KnowledgeBases, 'get'>;
  messages?: RatedReplies;
  /** How alike a question must be to an FAQ's to be answered with it; 0.85 by default. */
  threshold?: number;
  /** FAQs per knowledge base; 5,000 by default. */
  maxPerBase?: number;
  now?: () => number;
}

export interface FaqMatch {
  faq: FaqRow;
  similarity: number;
}

/**
 * Question/answer pairs per knowledge base. A customer question close enough
 * to one (after case, punctuation and width are set aside) is answered with
 * its answer as written, with no model call.
 */
export class Faqs {
  private readonly now: () => number;
  readonly threshold: number;
  private readonly maxPerBase: number;

  constructor(private readonly options: FaqsOptions) {
    this.now = options.now ?? Date.now;
    this.threshold = options.threshold ?? 0.85;
    this.maxPerBase = options.maxPerBase ?? 5_000;
  }

  async list(appId: string, kbId: string): Promise<Faq[]> {
    await this.options.knowledge.get(appId, kbId);
    return (await this.options.store.list(appId, [kbId], this.maxPerBase)).map(view);
  }

  async add(appId: string, kbId: string, input: FaqInput, origin: Faq['origin'] = 'console', messageId: string | null = null): Promise<Faq> {
    const [row] = await this.addMany(appId, kbId, [input], origin, messageId);
    return view(row!);
  }

  async update(appId: string, kbId: string, id: string, input: FaqInput): Promise<Faq> {
    const clean = checked(input);
    const existing = await this.options.store.get(appId, id);
    if (!existing || existing.kb_id !== kbId) throw notFound('The FAQ');
    const updated_at = this.now();
    await this.options.store.update(appId, id, { ...clean, updated_at });
    return view({ ...existing, ...clean, updated_at });
  }

  async remove(appId: string, kbId: string, id: string): Promise<void> {
    const existing = await this.options.store.get(appId, id);
    if (!existing || existing.kb_id !== kbId) throw notFound('The FAQ');
    await this.options.store.delete(appId, id);
  }

  /**
   * FAQs from a CSV or XLSX file: a column named question (问题) and one named
   * answer (答案), else the first two columns. Read by the same bounded parser
   * as documents.
   */
  async importFile(appId: string, kbId: string, file: { filename: string; mime: string; data: Uint8Array }): Promise<{ added: number; skipped: number }> {
    const format = detectFormat(file.filename, file.mime);
    if (format !== 'csv' && format !== 'xlsx' && format !== 'xls') {
      throw new WarblerError('unsupported_media_type', 'Import FAQs from a .csv, .xlsx or .xls file with a question column and an answer column.');
    }
    await this.options.knowledge.get(appId, kbId);
    let markdown: string;
    try {
      markdown = (await parseBounded(file.data, format, { ...defaultParseLimits, maxFileBytes: 5 * 1024 * 1024 })).markdown;
    } catch (err) {
      if (err instanceof ParseFailure) throw badRequest(err.message);
      throw err;
    }
    const [header = [], ...rows] = tableRows(markdown);
    const find = (re: RegExp) => header.findIndex((h) => re.test(h.trim()));
    let q = find(/^(question|questions|q|问题|问|提问)$/i);
    let a = find(/^(answer|answers|a|答案|答|回答)$/i);
    const headed = q >= 0 && a >= 0;
    if (!headed) [q, a] = [0, 1];
    const pairs = (headed ? rows : [header, ...rows])
      .map((r) => ({ question: (r[q] ?? '').trim(), answer: (r[a] ?? '').trim() }))
      .filter((p) => p.question && p.answer && p.question.length <= 1000 && p.answer.length <= 20_000);
    const skipped = (headed ? rows.length : rows.length + 1) - pairs.length;
    if (!pairs.length) throw badRequest('No question/answer pairs found: put questions in a column named "question" and answers in one named "answer".');
    await this.addMany(appId, kbId, pairs, 'import', null);
    return { added: pairs.length, skipped };
  }

  /** An AI reply someone rated thumbs-up, as an FAQ: its question and its text (citation markers taken out). */
  async fromRatedReply(appId: string, kbId: string, messageId: string): Promise<Faq> {
    const messages = this.options.messages;
    if (!messages) throw new WarblerError('unavailable', 'Replies cannot be turned into FAQs on this server.');
    const reply = await messages.get(appId, messageId);
    if (!reply || !reply.from_agent) throw notFound('The AI reply');
    if (!reply.rated_up) throw badRequest('Only a reply someone rated thumbs-up can become an FAQ.');
    const question = reply.reply_to ? (await messages.get(appId, reply.reply_to))?.text.trim() : undefined;
    if (!question) throw badRequest('The question this reply answered is gone (recalled or deleted); add the FAQ by hand.');
    const answer = reply.text.replace(/[ \t]?\[(\d{1,2})\](?!\()/g, '').replace(/[ \t]+\n/g, '\n').trim();
    return this.add(appId, kbId, { question: question.slice(0, 1000), answer: answer.slice(0, 20_000) }, 'rated_reply', messageId);
  }

  /** The FAQ of these knowledge bases closest to `question`, when it is close enough. */
  async match(appId: string, kbIds: readonly string[], question: string): Promise<FaqMatch | undefined> {
    if (!question.trim() || question.length > 2_000 || !kbIds.length) return undefined;
    let best: FaqMatch | undefined;
    for (const faq of await this.options.store.list(appId, kbIds, this.maxPerBase * kbIds.length)) {
      const similarity = questionSimilarity(question, faq.question);
      if (similarity >= this.threshold && (!best || similarity > best.similarity)) best = { faq, similarity };
    }
    return best;
  }

  private async addMany(appId: string, kbId: string, inputs: FaqInput[], origin: Faq['origin'], messageId: string | null): Promise<FaqRow[]> {
    await this.options.knowledge.get(appId, kbId);
    const have = await this.options.store.count(appId, kbId);
    if (have + inputs.length > this.maxPerBase) throw badRequest(`A knowledge base holds at most ${this.maxPerBase} FAQs; it has ${have}.`);
    const now = this.now();
    const rows = inputs.map((input, i): FaqRow => ({
      app_id: appId, id: `faq_${randomBytes(12).toString('base64url')}`, kb_id: kbId, ...checked(input),
      origin, message_id: messageId, created_at: now + i, updated_at: now + i,
    }));
    for (let i = 0; i < rows.length; i += 500) await this.options.store.insert(rows.slice(i, i + 500));
    return rows;
  }
}

function checked(input: FaqInput): FaqInput {
  const parsed = FaqInput.safeParse(input);
  if (!parsed.success) throw badRequest('An FAQ needs a question (at most 1,000 characters) and an answer (at most 20,000).');
  return parsed.data;
}

function view({ app_id: _app, ...faq }: FaqRow): Faq {
  return faq;
}
