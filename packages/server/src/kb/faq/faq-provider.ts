import { randomUUID } from 'node:crypto';
import { collectChat, LlmError, type CallOptions, type ChatMessage, type ChatRequest, type ChatStreamPart, type LlmProvider, type Usage } from '../../llm/index.ts';

/**
 * The in-process "model" an FAQ answer goes through: it repeats the answer it
 * is handed (the system message) and costs nothing. Going through the Router
 * like any model gives the FAQ answer a ledger row of its own (model
 * local/faq, cost 0) with the agent, conversation and message it answered.
 */
export const FAQ_MODEL = 'local/faq';

const none: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: false };

export function createFaqProvider(): LlmProvider {
  const provider: LlmProvider = {
    name: 'local',
    chat: (request, options) => repeat(request, options),
    async complete(request: ChatRequest, options?: CallOptions) {
      return { ...(await collectChat(provider.chat(request, options))), id: `faq-${randomUUID()}`, model: request.model };
    },
    async embed() {
      throw new LlmError('bad_request', `${FAQ_MODEL} has no embeddings.`);
    },
  };
  return provider;
}

async function* repeat(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatStreamPart> {
  if (options?.signal?.aborted) {
    yield { type: 'error', error: new LlmError('aborted', 'The call was stopped before the answer began.') };
    return;
  }
  const answer = systemText(request.messages);
  if (answer) yield { type: 'text-delta', text: answer };
  yield { type: 'usage', usage: none };
  yield { type: 'finish', finishReason: 'stop', usage: none };
}

function systemText(messages: readonly ChatMessage[]): string {
  const m = messages.find((x) => x.role === 'system');
  return typeof m?.content === 'string' ? m.content : '';
}
