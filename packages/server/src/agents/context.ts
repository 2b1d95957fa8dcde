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
  /** Earlier lines of this conversation, folded out of the history, that the question refers back to; empty when none. */
  recalled: string;
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

/** Most tokens a summary may take: the summary call's max_tokens, and the room folding keeps for it. */
export const SUMMARY_MAX_TOKENS = 500;

/**
 * Tokens of conversation (summary + turns) this call may carry: the agent's
 * history budget, within what the window leaves after the fixed parts
 * (system prompt, knowledge, recalled lines).
 */
export function historyLimit(input: Pick<ContextInput, 'config' | 'facts'>, fixedTokens: number): number {
  return Math.max(0, Math.min(input.config.history_tokens, promptBudget(input.config, input.facts) - fixedTokens));
}

/** Tokens of the parts of the prompt that are not conversation: the system prompt and the per-turn block. */
export function fixedTokens(input: Omit<ContextInput, 'summary' | 'history'>): number {
  const volatile = volatileText(input);
  return 3 + countMessageTokens({ role: 'system', content: systemText({ ...input, summary: '' }) }) + (volatile ? countMessageTokens({ role: 'system', content: volatile }) : 0);
}

/** What each history message costs in the prompt (0 for those left out: recalled, streaming, failed without text). */
export function turnCosts(input: Pick<ContextInput, 'agentId' | 'group' | 'names' | 'config' | 'facts' | 'history'>): number[] {
  const vision = input.config.vision ?? input.facts.vision;
  return input.history.map((m) => (skipped(m) ? 0 : countMessageTokens(textTurn(m, input)) + (m.type === 'image' && vision ? IMAGE_TOKENS : 0)));
}

/**
 * How many of the oldest history messages to fold into the summary: none
 * while summary and turns fit the limit; once they do not, enough that what
 * stays plus a new summary takes about half of it (hysteresis), so the next
 * turns fit without another summary call. The kept history starts at a
 * person's message where it can, and the message being answered always stays.
 */
export function foldCount(history: readonly Message[], costs: readonly number[], summaryTokens: number, limit: number, agentId: string): number {
  const total = costs.reduce((n, c) => n + c, summaryTokens);
  if (total <= limit || history.length <= 1) return 0;
  const target = Math.max(0, Math.floor(limit / 2) - Math.min(SUMMARY_MAX_TOKENS, Math.floor(limit / 4)));
  let kept = 0;
  let first = history.length;
  for (let i = history.length - 1; i >= 0; i--) {
    if (i < history.length - 1 && kept + costs[i]! > target) break;
    kept += costs[i]!;
    first = i;
  }
  while (first < history.length - 1 && history[first]!.sender_id === agentId) first++;
  return first;
}

/**
 * The prompt, ordered so that its beginning stays the same from turn to turn
 * (providers cache a repeated prefix and bill it at a discount): the system
 * prompt and the summary of older turns, then the turns, then what changes
 * every turn (retrieved passages, recalled lines) just before the message
 * being answered. History that does not fit the window (newest kept first)
 * is returned as overflow, never silently dropped.
 */
export async function buildContext(input: ContextInput): Promise<BuiltContext> {
  const budget = promptBudget(input.config, input.facts);
  const system: ChatMessage = { role: 'system', content: systemText(input) };
  const volatile = volatileText(input);
  const perTurn: ChatMessage | undefined = volatile ? { role: 'system', content: volatile } : undefined;
  let used = 3 + countMessageTokens(system) + (perTurn ? countMessageTokens(perTurn) : 0);

  const vision = input.config.vision ?? input.facts.vision;
  let imagesLeft = vision ? MAX_IMAGES : 0;
  let unseenImages = 0;
  const turns: ChatMessage[] = [];
  let firstKept = input.history.length;
  for (let i = input.history.length - 1; i >= 0; i--) {
    const m = input.history[i]!;
    if (skipped(m)) {
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
  const last = turns.pop();
  return {
    messages: [system, ...turns, ...(perTurn ? [perTurn] : []), ...(last ? [last] : [])],
    promptTokens: used,
    overflow: input.history.slice(0, firstKept),
    unseenImages,
  };
}

const skipped = (m: Message) => m.state === 'recalled' || m.state === 'streaming' || (m.state === 'failed' && !messageText(m));

/** The stable beginning: the operator's prompt, how to use knowledge when there is any, and the summary (which changes only when turns are folded). */
function systemText(input: Pick<ContextInput, 'config' | 'summary'>): string {
  const parts = [input.config.system_prompt.trim()];
  if (input.config.knowledge_base_ids.length > 0) {
    parts.push('Answer from the knowledge given with the question when it is relevant. Cite the passages you use with their numbers in square brackets, like [1]. If the knowledge does not cover the question, say so.');
  }
  if (input.summary) parts.push(`Summary of the conversation so far:\n${input.summary}`);
  return parts.join('\n\n');
}

/** What changes every turn: retrieved passages and recalled lines, placed after the stable part. */
function volatileText(input: Pick<ContextInput, 'knowledge' | 'recalled'>): string {
  return [input.knowledge, input.recalled].filter(Boolean).join('\n\n');
}

function textTurn(m: Message, input: Pick<ContextInput, 'agentId' | 'group' | 'names'>): ChatMessage {
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
      content: [
        'You maintain a running summary of a chat for an assistant that can no longer see its older turns.',
        'Merge the new turns into the summary so far; drop nothing from it that still matters.',
        'Copy every specific the user gave exactly as written: names, order, tracking, ticket and account numbers, codes, addresses, phone numbers, emails, dates, amounts, sizes and colours.',
        'Keep decisions, promises made, open questions and the user\'s preferences. Leave out greetings and small talk.',
        'Write at most 250 words, in the language of the chat, as short lines.',
      ].join(' '),
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
