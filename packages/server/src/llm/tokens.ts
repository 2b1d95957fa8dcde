// Token counting with o200k_base (GPT-4o and later). Used to fit context into
// a model's window and to estimate usage when upstream reports none. For other
// vendors' models it is an estimate: their tokenizers differ, typically by
// some percent, and the ledger flags every estimated row.
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { LRUCache } from 'lru-cache';
import type { ChatMessage, ChatRequest, ContentPart, ToolCall, ToolDefinition, Usage } from './types.ts';

// User text may contain "<|endoftext|>" and friends; they are plain text to us,
// and gpt-tokenizer throws on them by default.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// OpenAI's documented chat framing for gpt-4o-class models: every message costs
// 3 tokens of framing (plus 1 for a name), and 3 more prime the reply.
const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;
// An image whose size we do not know: "low" detail is a flat 85; otherwise assume
// one 1024×1024 image at high detail (85 + 170 per 512px tile × 4 tiles).
const IMAGE_LOW = 85;
const IMAGE_DEFAULT = 765;
const PER_TOOL_CALL = 3;

// The same texts are counted again and again: an agent recounts its system
// prompt and the conversation's history for every reply, and gateway clients
// resend the same system prompts. Bounded by characters held, not entries.
const counted = new LRUCache<string, number>({ maxSize: 4_000_000, sizeCalculation: (_n, text) => text.length });
const CACHED_UP_TO = 64 * 1024;

export function countTextTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > CACHED_UP_TO) return countBounded(text);
  let n = counted.get(text);
  if (n === undefined) {
    n = countBounded(text);
    counted.set(text, n);
  }
  return n;
}

// BPE is quadratic in the length of one pre-token: a run of 80,000 "z" took
// 3.8 s of the event loop and 1.1 MB in one /v1 prompt froze the server for
// every tenant for minutes. Text holding a run this long without whitespace is
// counted in slices instead; each cut may add one token, a rounding no
// budget or context window notices.
const SLICE = 256;
const LONG_RUN = new RegExp(`\\S{${SLICE + 1}}`);

function countBounded(text: string): number {
  if (!LONG_RUN.test(text)) return countO200k(text, PLAIN_TEXT);
  let n = 0;
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + SLICE);
    // Never split a surrogate pair: half a character would count as a replacement character.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end++;
    n += countO200k(text.slice(at, end), PLAIN_TEXT);
    at = end;
  }
  return n;
}

function countContent(content: string | ContentPart[] | null | undefined): number {
  if (content == null) return 0;
  if (typeof content === 'string') return countTextTokens(content);
  let n = 0;
  for (const part of content) {
    n += part.type === 'text' ? countTextTokens(part.text) : part.image_url.detail === 'low' ? IMAGE_LOW : IMAGE_DEFAULT;
  }
  return n;
}

export function countMessageTokens(message: ChatMessage): number {
  let n = PER_MESSAGE + countTextTokens(message.role) + countContent(message.content);
  if ('name' in message && message.name) n += PER_NAME + countTextTokens(message.name);
  if (message.role === 'assistant' && message.tool_calls) {
    for (const c of message.tool_calls) n += PER_TOOL_CALL + countTextTokens(c.function.name) + countTextTokens(c.function.arguments);
  }
  return n;
}

/** Tokens of a whole prompt: messages with their framing, plus tool definitions (approximated by their JSON). */
export function countChatTokens(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): number {
  let n = REPLY_PRIMING;
  for (const m of messages) n += countMessageTokens(m);
  if (tools && tools.length > 0) n += countTextTokens(JSON.stringify(tools));
  return n;
}

export interface OutputSoFar {
  text: string;
  reasoning?: string;
  toolCalls?: readonly Pick<ToolCall, 'name' | 'arguments'>[];
}

export function countOutputTokens(output: OutputSoFar): { completion: number; reasoning: number } {
  const reasoning = countTextTokens(output.reasoning ?? '');
  let completion = countTextTokens(output.text) + reasoning;
  for (const c of output.toolCalls ?? []) completion += countTextTokens(c.name) + countTextTokens(c.arguments);
  return { completion, reasoning };
}

/** Usage counted by us, flagged `estimated`: for when upstream reports none (or the stream broke first). */
export function estimateUsage(request: Pick<ChatRequest, 'messages' | 'tools'>, output: OutputSoFar): Usage {
  const promptTokens = countChatTokens(request.messages, request.tools);
  const { completion, reasoning } = countOutputTokens(output);
  return {
    promptTokens,
    completionTokens: completion,
    totalTokens: promptTokens + completion,
    cachedTokens: 0,
    reasoningTokens: reasoning,
    estimated: true,
  };
}

/**
 * An upper estimate of a prompt's tokens from its UTF-8 size, without
 * tokenizing: o200k averages about 4 bytes per token in English and at
 * least ~3 bytes per token in Chinese, Japanese and Korean, and the JSON
 * framing adds more bytes than tokens. For reservations that are settled
 * from real usage afterwards, never for billing. Images sent inline count by
 * their base64 size here, far above their real cost: callers count exactly
 * when the estimate is large.
 */
export function quickPromptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  // A /v1 call asks twice for the same request (its key's TPM reservation, then the ledger's open row):
  // the second answer is remembered, as long as the request still holds the same messages and tools.
  const known = quickEstimates.get(request);
  if (known && known.messages === request.messages && known.count === request.messages.length && known.tools === request.tools) return known.tokens;
  let bytes = jsonBytes(request.messages);
  if (request.tools && request.tools.length > 0) bytes += jsonBytes(request.tools);
  const tokens = REPLY_PRIMING + Math.ceil(bytes / 3);
  quickEstimates.set(request, { messages: request.messages, count: request.messages.length, tools: request.tools, tokens });
  return tokens;
}

const quickEstimates = new WeakMap<object, { messages: unknown; count: number; tools: unknown; tokens: number }>();


/** Buffer.byteLength(JSON.stringify(value)), without building the JSON (a third of the time for a /v1 prompt). */
export function jsonBytes(value: unknown): number {
  const n = walkBytes(value);
  return Number.isNaN(n) ? Buffer.byteLength(JSON.stringify(value) ?? '') : n;
}

// Strings JSON.stringify writes as they are, between quotes: no quote, backslash, control character or surrogate.
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The UTF-8 size of JSON.stringify(value) for plain JSON data; NaN for anything else (toJSON, BigInt, …): the caller stringifies. */
function walkBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return ESCAPED.test(value) ? Buffer.byteLength(JSON.stringify(value)) : Buffer.byteLength(value) + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let n = value.length > 0 ? value.length + 1 : 2;
        for (const item of value) {
          const t = typeof item;
          n += t === 'undefined' || t === 'function' || t === 'symbol' ? 4 : walkBytes(item);
        }
        return n;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return NaN;
      let n = 2;
      let fields = 0;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        const t = typeof item;
        if (t === 'undefined' || t === 'function' || t === 'symbol') continue;
        n += walkBytes(key) + 1 + walkBytes(item);
        fields++;
      }
      return fields > 1 ? n + fields - 1 : n;
    }
    default:
      return NaN;
  }
}
