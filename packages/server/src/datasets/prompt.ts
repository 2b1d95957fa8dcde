// The prompt of an item as the agent had it: its system prompt with the
// knowledge instruction and block (as agents/context.ts lays them out), the
// history window, and the question. A run replays it; the fine-tuning export
// writes it out with the reference answer after it.
import type { ChatMessage } from '../llm/index.ts';
import { formatKnowledgeBlock } from '../kb/index.ts';
import type { ItemData } from './items-from-conversations.ts';

const CITE =
  'Answer from the knowledge given with the question when it is relevant. Cite the passages you use with their numbers in square brackets, like [1]. ' +
  'If the knowledge does not cover the question, say so.';

export function systemText(item: ItemData, systemPrompt = item.system_prompt): string {
  const parts = [systemPrompt.trim()];
  if (item.passages.length > 0) parts.push(CITE, formatKnowledgeBlock(item.passages));
  return parts.filter(Boolean).join('\n\n');
}

export function promptOf(item: ItemData, systemPrompt?: string): ChatMessage[] {
  const system = systemText(item, systemPrompt);
  return [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...item.history.map((t) => ({ role: t.role, content: t.content })),
    { role: 'user', content: item.question },
  ];
}
