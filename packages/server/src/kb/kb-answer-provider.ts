import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import {
  LlmError,
  collectChat,
  countChatTokens,
  countTextTokens,
  type CallOptions,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  type ChatStreamPart,
  type EmbedResult,
  type FinishReason,
  type LlmProvider,
  type Usage,
} from '../llm/index.ts';
import { answerFromPassages, type AnswerOptions } from './answer.ts';
import { parseKnowledgeBlock, type KnowledgePassage } from './knowledge-block.ts';
import { assistantName, smallTalk, smallTalkReply, type SmallTalk } from './small-talk.ts';
import { queryTerms, searchTerms } from './terms.ts';
import { segments, textLanguage } from './text.ts';
import type { KbAnswer, Passage } from './types.ts';

export const KB_ANSWER_MODEL = 'local/kb-answer';

export interface KbAnswerProviderOptions {
  /** The provider name for logs and the ledger; "local" by default. */
  name?: string;
  /** The language of fixed replies when a question shows none; "en" by default. */
  locale?: string;
  answer?: Omit<AnswerOptions, 'numbering'>;
  /** Words (or CJK words) per streamed piece; 3 by default. */
  wordsPerPiece?: number;
  /** A pause between pieces so a demo reply visibly streams; 0 by default. */
  pieceDelayMs?: number;
}

const noKnowledge = {
  en:
    "I answer only by quoting a knowledge base, and no knowledge base is attached to me here, so I have nothing to quote. " +
    'Ask the operator to attach one to this agent, or to give it a model that writes its own answers.',
  zh: '我只通过引用知识库来回答问题，但这里没有为我关联任何知识库，所以没有可以引用的内容。请让管理员为这个智能体关联一个知识库，或者换用能自己生成回答的模型。',
};

/**
 * The built-in `local/kb-answer` model: it writes nothing of its own. It
 * reads the question (the last user message) and the passages of the
 * knowledge block the agent runtime put in the system message, and quotes the
 * best of them under the block's own [n] numbers, so citations line up with
 * what the runtime retrieved. Usage is our exact o200k count, not an estimate.
 */
export function createKbAnswerProvider(options: KbAnswerProviderOptions = {}): LlmProvider {
  const name = options.name ?? 'local';
  const provider: LlmProvider = {
    name,
    chat: (request, callOptions) => streamAnswer(request, callOptions, options),
    async complete(request: ChatRequest, callOptions?: CallOptions): Promise<ChatCompletion> {
      const completion = await collectChat(provider.chat(request, callOptions));
      return { ...completion, id: `kba-${randomUUID()}`, model: request.model };
    },
    async embed(): Promise<EmbedResult> {
      throw new LlmError('bad_request', `${KB_ANSWER_MODEL} has no embeddings: it only quotes knowledge-base passages. Use an embedding model of another provider.`);
    },
  };
  return provider;
}

/**
 * The kb-answer reply to `question` from numbered passages: quotes only
 * passages that share a search term with the question (when any do), in the
 * order given, under their own numbers.
 */
export function answerFromKnowledge(
  question: string,
  passages: readonly KnowledgePassage[],
  locale = 'en',
  options: Omit<AnswerOptions, 'numbering'> = {},
): KbAnswer {
  const wanted = new Set(queryTerms(question));
  const matching = passages.filter((p) => passageTerms(p).some((t) => wanted.has(t)));
  // The block order is the retriever's ranking, made with the statistics of the
  // whole corpus; the block alone cannot rank better, so every passage scores
  // alike and the stable sort keeps that order. When nothing shares a word with
  // the question (a follow-up like "and the price?", retrieved with the
  // conversation's context), the runtime's choice is still the best there is.
  const chosen = sameLanguage(question, matching.length ? matching : passages);
  const numbers = new Map<Passage, number>();
  const asPassages = chosen.map((p) => {
    const passage: Passage = { score: 1, chunk: toChunk(p) };
    numbers.set(passage, p.index);
    return passage;
  });
  return answerFromPassages(question, asPassages, locale, { ...options, numbering: (p) => numbers.get(p)! });
}

/**
 * In a bilingual knowledge base a term like "PostgreSQL" matches both
 * translations of a page; the reply quotes the one in the question's language
 * when there is one, since it answers in that language.
 */
function sameLanguage(question: string, passages: readonly KnowledgePassage[]): readonly KnowledgePassage[] {
  const lang = textLanguage(question);
  if (!lang) return passages;
  const languages = passages.map((p) => textLanguage(p.text));
  if (!languages.includes(lang)) return passages;
  return passages.filter((_, i) => languages[i] === lang || languages[i] === undefined);
}

async function* streamAnswer(
  request: ChatRequest,
  callOptions: CallOptions | undefined,
  options: KbAnswerProviderOptions,
): AsyncGenerator<ChatStreamPart> {
  const signal = callOptions?.signal;
  const promptTokens = countChatTokens(request.messages, request.tools);
  const usageOf = (text: string): Usage => {
    const completionTokens = countTextTokens(text);
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, cachedTokens: 0, reasoningTokens: 0, estimated: false };
  };
  const text = replyTo(request.messages, options);
  const limit = request.max_completion_tokens ?? request.max_tokens;
  let sent = '';
  let finishReason: FinishReason = 'stop';
  for (const [i, piece] of pieces(text, options.wordsPerPiece ?? 3).entries()) {
    // Give the event loop a turn per piece: many replies interleave fairly, and a stop can land mid-answer.
    if (i > 0) await (options.pieceDelayMs ? sleep(options.pieceDelayMs) : nextTurn());
    if (signal?.aborted) {
      yield { type: 'error', error: abortError(signal), usage: usageOf(sent) };
      return;
    }
    if (limit !== undefined && countTextTokens(sent + piece) > limit) {
      finishReason = 'length';
      break;
    }
    sent += piece;
    yield { type: 'text-delta', text: piece };
  }
  const usage = usageOf(sent);
  yield { type: 'usage', usage };
  yield { type: 'finish', finishReason, usage };
}

function replyTo(messages: readonly ChatMessage[], options: KbAnswerProviderOptions): string {
  const question = lastUserText(messages);
  const talk = smallTalk(question);
  if (talk) return smallTalkTo(talk, question, messages, options);
  let passages: KnowledgePassage[] | undefined;
  for (const m of messages) {
    if (m.role !== 'system' && m.role !== 'developer') continue;
    const found = parseKnowledgeBlock(textOf(m.content));
    if (!found) continue;
    // Two blocks may both start at [1]; the first passage under a number is the one the model was shown first.
    passages ??= [];
    for (const p of found) if (!passages.some((q) => q.index === p.index)) passages.push(p);
  }
  if (!passages) {
    const lang = textLanguage(question) ?? (options.locale?.toLowerCase().startsWith('zh') ? 'zh' : 'en');
    return noKnowledge[lang];
  }
  return answerFromKnowledge(question, passages, options.locale, options.answer).text;
}

/** A greeting or "what can you do", answered with the assistant's name and what its knowledge covers. */
function smallTalkTo(talk: SmallTalk, question: string, messages: readonly ChatMessage[], options: KbAnswerProviderOptions): string {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content));
  const topics = new Set<string>();
  for (const text of system) for (const p of parseKnowledgeBlock(text) ?? []) topics.add(p.title);
  return smallTalkReply(talk, question, assistantName(system.join('\n')), options.locale ?? 'en', [...topics]);
}

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user') return textOf(m.content);
  }
  return '';
}

function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).filter(Boolean).join('\n');
}

/** Pieces of a few words each; joined they give back the text exactly. */
function pieces(text: string, wordsPerPiece: number): string[] {
  const out: string[] = [];
  let piece = '';
  let words = 0;
  for (const { segment, isWordLike } of segments(text)) {
    piece += segment;
    if (isWordLike) words++;
    // Cut after whitespace or punctuation, never inside a word; Chinese needs no space, so after any of its words.
    if (words >= wordsPerPiece && (!isWordLike || CJK_WORD.test(segment))) {
      out.push(piece);
      piece = '';
      words = 0;
    }
  }
  if (piece) out.push(piece);
  return out;
}

const CJK_WORD = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;

function passageTerms(p: KnowledgePassage): string[] {
  return searchTerms([p.title, ...p.heading_path, p.text].join('\n'));
}

function toChunk(p: KnowledgePassage): Passage['chunk'] {
  return {
    id: `block#${p.index}`,
    app_id: '',
    kb_id: '',
    // A parsed block does not know its documents; citations then carry ''.
    document_id: p.document_id ?? '',
    ordinal: p.index,
    title: p.title,
    source: p.source,
    heading_path: p.heading_path,
    text: p.text,
    tokens: 0,
  };
}

function abortError(signal: AbortSignal): LlmError {
  const reason: unknown = signal.reason;
  return reason instanceof LlmError ? reason : new LlmError('aborted', 'The call was stopped before the model finished.', { cause: reason });
}
