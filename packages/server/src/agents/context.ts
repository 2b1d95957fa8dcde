import type { Message } from '@warbler/protocol';
import { countMessageTokens, countTextTokens, type ChatMessage, type ContentPart } from '../llm/index.ts';
import type { AgentConfig } from './definition.ts';
import type { ModelFacts } from './models.ts';
import { messageText } from './triggers.ts';

/** Tokens we assume one image costs in the prompt (OpenAI bills 85–1,105 by size and detail). */
export const IMAGE_TOKENS = 800;
/** Only the newest images are shown to a vision model; older ones stay as text notes. */
const MAX_IMAGES = 3;
/** Room kept free for tokenizer differences between providers. */
const SAFETY_TOKENS = 256;

export interface ContextInput {
  agentId: string;
  config: AgentConfig;
  facts: ModelFacts;
  /** Conversation kind: in groups each line is prefixed with who said it. */
  group: boolean;
  /** Rolling summary of turns before the history below. */
  summary: string;
  /** Knowledge block (retrieved passages), already formatted; empty when none. */
  knowledge: string;
  /** Messages after the summary and any /reset, oldest first; the last one is what the agent answers. */
  history: Message[];
  names: ReadonlyMap<string, string>;
  /** Resolves an image message's file to a URL the model can read (a data: URL), or undefined. */
  imageUrl: (message: Message) => Promise<string | undefined>;
}

export interface BuiltContext {
  messages: ChatMessage[];
  /** o200k estimate of the prompt. */
  promptTokens: number;
  /** Oldest history messages that did not fit: fold them into the summary. */
  overflow: Message[];
  /** An image in the turns sent was not shown because the model cannot see images. */
  unseenImages: number;
}

/** The most prompt tokens this agent may send in one call. */
export function promptBudget(config: AgentConfig, facts: ModelFacts): number {
  const window = Math.min(config.context_tokens ?? facts.contextWindow, facts.contextWindow);
  return Math.max(256, window - config.max_tokens - SAFETY_TOKENS);
}

/**
 * System prompt, then knowledge, then the summary of older turns, then as
 * much recent history as fits the budget, newest kept first. What does not
 * fit is returned as overflow, never silently dropped.
 */
export async function buildContext(input: ContextInput): Promise<BuiltContext> {
  const budget = promptBudget(input.config, input.facts);
  const system: ChatMessage[] = [{ role: 'system', content: systemText(input) }];
  let used = system.reduce((n, m) => n + countMessageTokens(m), 3);

  const vision = input.config.vision ?? input.facts.vision;
  let imagesLeft = vision ? MAX_IMAGES : 0;
  let unseenImages = 0;
  const turns: ChatMessage[] = [];
  let firstKept = input.history.length;
  for (let i = input.history.length - 1; i >= 0; i--) {
    const m = input.history[i]!;
    if (m.state === 'recalled' || m.state === 'streaming' || (m.state === 'failed' && !messageText(m))) {
      firstKept = i;
      continue;
    }
    let turn = textTurn(m, input);
    let cost = countMessageTokens(turn);
    if (m.type === 'image') {
      const url = imagesLeft > 0 ? await input.imageUrl(m) : undefined;
      if (url) {
        imagesLeft--;
        const parts: ContentPart[] = [{ type: 'text', text: String(turn.content) }, { type: 'image_url', image_url: { url, detail: 'auto' } }];
        turn = { role: 'user', content: parts };
        cost += IMAGE_TOKENS;
      } else if (!vision) {
        unseenImages++;
      }
    }
    // The message being answered always goes in, even alone over budget: answering without it is worse.
    if (used + cost > budget && i !== input.history.length - 1) break;
    used += cost;
    turns.push(turn);
    firstKept = i;
  }
  turns.reverse();
  return {
    messages: [...system, ...turns],
    promptTokens: used,
    overflow: input.history.slice(0, firstKept),
    unseenImages,
  };
}

function systemText(input: ContextInput): string {
  const parts = [input.config.system_prompt.trim()];
  if (input.knowledge) {
    parts.push(
      'Answer from the knowledge below when it is relevant. Cite the passages you use with their numbers in square brackets, like [1]. If the knowledge does not cover the question, say so.',
      input.knowledge,
    );
  }
  if (input.summary) parts.push(`Summary of the conversation so far:\n${input.summary}`);
  return parts.join('\n\n');
}

function textTurn(m: Message, input: ContextInput): ChatMessage {
  const mine = m.sender_id === input.agentId;
  let text = messageText(m);
  if (m.type === 'image' || m.type === 'file') {
    const c = m.content as { name?: string; caption?: string };
    const what = m.type === 'image' ? 'an image' : `a file (${c.name ?? 'unnamed'})`;
    text = [`[sent ${what}]`, c.caption ?? ''].filter(Boolean).join(' ');
  }
  if (mine) return { role: 'assistant', content: text };
  const who = input.names.get(m.sender_id) ?? m.sender_id;
  return { role: 'user', content: input.group ? `${who}: ${text}` : text };
}

/** The prompt asking a model to fold old turns into the running summary. */
export function summaryRequest(previous: string, turns: Message[], names: ReadonlyMap<string, string>, agentId: string): ChatMessage[] {
  const lines = turns
    .filter((m) => m.state !== 'recalled')
    .map((m) => `${m.sender_id === agentId ? 'Assistant' : (names.get(m.sender_id) ?? m.sender_id)}: ${messageText(m) || `[${m.type}]`}`);
  return [
    {
      role: 'system',
      content: 'You maintain a running summary of a chat for an assistant that can no longer see its older turns. Keep names, facts, decisions, open questions and the user\'s preferences. Write at most 200 words, in the language of the chat.',
    },
    { role: 'user', content: `${previous ? `Summary so far:\n${previous}\n\n` : ''}New turns to fold in:\n${lines.join('\n')}` },
  ];
}

/** Cheap fallback when the model cannot summarize (local/kb-answer): keep the last lines verbatim, bounded. */
export function truncatedSummary(previous: string, turns: Message[], maxTokens = 300): string {
  let text = [previous, ...turns.map((m) => messageText(m)).filter(Boolean)].filter(Boolean).join('\n');
  while (countTextTokens(text) > maxTokens && text.length > 0) text = text.slice(Math.ceil(text.length / 4));
  return text;
}
