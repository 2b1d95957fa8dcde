import type { ChatMessage, ChatRequest, ChatStreamPart, RouterCallOptions } from '../../llm/index.ts';
import { FAQ_MODEL } from './faq-provider.ts';
import type { FaqMatch } from './faqs.ts';

/** The agent calls the runtime makes: a chat through the Router with a ledger context. */
export interface ChatModels {
  chat(request: ChatRequest, options?: RouterCallOptions): AsyncIterable<ChatStreamPart>;
}

export interface FaqFirstDeps {
  /** The knowledge bases of the agent a reply is for. */
  knowledgeBasesOf(appId: string, agentId: string): Promise<readonly string[]>;
  match(appId: string, kbIds: readonly string[], question: string): Promise<FaqMatch | undefined>;
  onError?: (err: unknown) => void;
}

interface ReplyContext {
  source?: unknown;
  purpose?: unknown;
  app_id?: unknown;
  agent_id?: unknown;
}

/**
 * Puts FAQs in front of the models an agent replies with: the first call of a
 * reply whose question closely matches an FAQ of the agent's knowledge bases
 * is answered by local/faq with that answer, at no cost; anything else (a
 * summary, a tool round, /v1) goes to the model asked for.
 */
export function faqFirst<M extends ChatModels>(models: M, deps: FaqFirstDeps): M {
  const chat = async function* (request: ChatRequest, options?: RouterCallOptions): AsyncIterable<ChatStreamPart> {
    const found = await faqFor(request, options?.context as ReplyContext | undefined, deps);
    if (found) {
      const { messages: _m, tools: _t, ...rest } = request;
      yield* models.chat({ ...rest, model: FAQ_MODEL, messages: [{ role: 'system', content: found.faq.answer }] }, options);
      return;
    }
    yield* models.chat(request, options);
  };
  return new Proxy(models, { get: (target, key, receiver) => (key === 'chat' ? chat : Reflect.get(target, key, receiver)) });
}

async function faqFor(request: ChatRequest, context: ReplyContext | undefined, deps: FaqFirstDeps) {
  if (context?.source !== 'agent' || context.purpose !== 'reply') return undefined;
  if (typeof context.app_id !== 'string' || typeof context.agent_id !== 'string') return undefined;
  const last = request.messages.at(-1);
  // A tool round ends with tool results, not the customer's question: the model is already answering.
  if (last?.role !== 'user') return undefined;
  const question = textOf(last.content);
  if (!question) return undefined;
  try {
    const kbIds = await deps.knowledgeBasesOf(context.app_id, context.agent_id);
    return kbIds.length ? await deps.match(context.app_id, kbIds, question) : undefined;
  } catch (err) {
    // A failed FAQ lookup must not cost the customer an answer: the model answers instead.
    deps.onError?.(err);
    return undefined;
  }
}

function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' ? p.text : '')).join('\n').trim();
}
