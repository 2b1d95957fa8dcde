import type { CopilotSuggestion, Message } from '@warbler/protocol';
import { citationsIn, type Agent, type KnowledgeSearch } from '../agents/index.ts';
import { WarblerError } from '../errors.ts';
import { formatKnowledgeBlock } from '../kb/index.ts';
import { isLlmError, type ChatMessage, type ChatRequest, type ChatStreamPart, type RouterCallOptions } from '../llm/index.ts';
import type { SupportRow } from './support-store.ts';

/** The router (or any provider that takes a ledger context). */
export interface CopilotModels {
  chat(request: ChatRequest, options?: RouterCallOptions): AsyncIterable<ChatStreamPart>;
}

export interface CopilotDeps {
  models: CopilotModels;
  knowledge: KnowledgeSearch;
  /** The newest messages of the conversation, oldest first. */
  recent(appId: string, conversationId: string, limit: number): Promise<Message[]>;
}

const RECENT = 30;
const MAX_TOKENS = 600;

/**
 * The AI-suggested reply a support person edits and sends as their own:
 * the agent's model and knowledge base, the conversation so far, one call
 * through the router whose ledger row says purpose 'copilot' and names the
 * conversation, so it counts in the conversation's cost.
 */
export async function suggestReply(deps: CopilotDeps, agent: Agent, row: SupportRow, staffId: string | null, signal?: AbortSignal): Promise<CopilotSuggestion> {
  const history = (await deps.recent(row.app_id, row.conversation_id, RECENT)).filter((m) => m.state !== 'streaming' && m.type !== 'system');
  const lastAsk = [...history].reverse().find((m) => m.sender_id === row.customer_id);
  const question = lastAsk ? textOf(lastAsk) : '';
  const passages = question && agent.config.knowledge_base_ids.length > 0
    ? await deps.knowledge.search(agent.app_id, agent.config.knowledge_base_ids, question, agent.config.top_k)
    : [];
  const system = [
    agent.config.system_prompt,
    'You are drafting the next reply for a human support person, who will read and edit it before sending it as their own. ' +
      'Answer the customer\'s latest message in their language, briefly and concretely. Cite knowledge passages you use as [n]. ' +
      'If the passages do not answer it, say what the support person should check instead of inventing an answer.',
    passages.length > 0 ? formatKnowledgeBlock(passages) : '',
  ].filter(Boolean).join('\n\n');
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  for (const m of history) {
    const text = textOf(m);
    if (!text) continue;
    messages.push(m.sender_id === row.customer_id ? { role: 'user', content: text } : { role: 'assistant', content: text });
  }
  if (messages.at(-1)?.role !== 'user') messages.push({ role: 'user', content: question || '(The customer has not written yet: draft a greeting.)' });

  let text = '';
  let model = agent.config.model;
  for await (const part of deps.models.chat(
    { model: agent.config.model, messages, max_tokens: Math.min(MAX_TOKENS, agent.config.max_tokens), ...(staffId && { user: staffId }) },
    {
      ...(signal && { signal }),
      context: { source: 'agent', app_id: row.app_id, agent_id: agent.id, user_id: staffId, conversation_id: row.conversation_id, message_id: null, purpose: 'copilot' },
    },
  )) {
    if (part.type === 'start') model = part.model;
    else if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'error') {
      const reason = isLlmError(part.error) ? part.error.message : 'the model failed';
      throw new WarblerError('unavailable', `No suggestion this time (${reason}). Try again in a moment, or write the reply yourself.`);
    }
  }
  return { text, citations: citationsIn(text, passages), model };
}

function textOf(message: Message): string {
  const text = (message.content as { text?: unknown }).text;
  return typeof text === 'string' ? text.slice(0, 8_000) : '';
}
