// /v1/completions (the legacy text-completion API) translated to chat: the
// prompt becomes one user message, the answer a text_completion. Clients
// that still use it (older LangChain LLM classes, some IDE plugins) get the
// same models, limits and ledger as chat.
import type { ChatStreamPart } from '../llm/index.ts';
import { jsonShapeProblem } from '../json-shape.ts';
import { invalidRequest } from './errors.ts';
import { parseChatBody, type ChatBody } from './validate.ts';
import { wireUsage } from './wire.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields that carry over to chat unchanged. */
const SHARED = ['model', 'max_tokens', 'temperature', 'top_p', 'stop', 'n', 'seed', 'user', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'stream', 'stream_options'] as const;

/** A legacy completions body as a chat body; features chat has no equivalent for are refused by name. */
export function legacyToChat(raw: unknown): ChatBody {
  if (!isObject(raw)) throw invalidRequest('The body must be a JSON object.');
  const problem = jsonShapeProblem(raw);
  if (problem) throw invalidRequest(`The body was refused: ${problem}`);
  let prompt = raw.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string') {
    throw invalidRequest('prompt must be a string (one prompt per request on this gateway; token arrays are not supported).', 'prompt');
  }
  if (raw.echo === true) throw invalidRequest('echo is not supported on this gateway (completions run on chat models).', 'echo');
  if (raw.suffix !== undefined && raw.suffix !== null) throw invalidRequest('suffix is not supported on this gateway (completions run on chat models).', 'suffix');
  if (raw.logprobs !== undefined && raw.logprobs !== null) throw invalidRequest('logprobs is not supported on /v1/completions here; use /v1/chat/completions.', 'logprobs');
  if (raw.best_of !== undefined && raw.best_of !== null && raw.best_of !== 1) throw invalidRequest('best_of is not supported on this gateway.', 'best_of');
  const chat: Record<string, unknown> = { messages: [{ role: 'user', content: prompt }] };
  for (const f of SHARED) if (raw[f] !== undefined) chat[f] = raw[f];
  // The legacy API's default is 16 tokens; chat has none, so keep what old clients rely on.
  if (chat.max_tokens === undefined) chat.max_tokens = 16;
  return parseChatBody(chat);
}

/** A chat.completion body as a text_completion body. */
export function textCompletionBody(chat: Record<string, unknown>, id: string): Record<string, unknown> {
  const choices = ((chat.choices as Array<{ index?: number; message?: { content?: string | null }; finish_reason?: string | null }> | undefined) ?? []).map((c, i) => ({
    text: c.message?.content ?? '',
    index: c.index ?? i,
    logprobs: null,
    finish_reason: c.finish_reason ?? 'stop',
  }));
  return { id, object: 'text_completion', created: chat.created ?? Math.floor(Date.now() / 1000), model: chat.model, choices, usage: chat.usage ?? null, system_fingerprint: null };
}

/** Router parts as text_completion SSE chunks (and the usage chunk when the client asked), then [DONE]. */
export class TextCompletionChunks {
  private readonly head: string;

  constructor(id: string, model: string, created: number, private readonly includeUsage: boolean) {
    this.head = `data: {"id":${JSON.stringify(id)},"object":"text_completion","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":[`;
  }

  part(p: ChatStreamPart): string {
    if (p.type === 'text-delta') return `${this.head}{"text":${JSON.stringify(p.text)},"index":0,"logprobs":null,"finish_reason":null}]}\n\n`;
    if (p.type !== 'finish') return '';
    const reason = p.finishReason === 'other' ? 'stop' : p.finishReason;
    let out = `${this.head}{"text":"","index":0,"logprobs":null,"finish_reason":"${reason}"}]}\n\n`;
    if (this.includeUsage) out += `${this.head}],"usage":${JSON.stringify(wireUsage(p.usage))}}\n\n`;
    return out + 'data: [DONE]\n\n';
  }
}
