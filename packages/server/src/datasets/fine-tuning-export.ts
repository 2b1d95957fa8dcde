// The good items of a dataset (thumbs-up, or resolved by the AI, never a
// thumbs-down) as OpenAI chat fine-tuning JSONL: one example per line, the
// prompt the agent had and its live answer as the assistant's turn. Personal
// data is masked with the guardrails' placeholders ([PHONE_1], [EMAIL_1]...),
// the same value getting the same placeholder throughout one example.
import { PII_KINDS, PiiVault } from '../guardrails/index.ts';
import type { ItemData } from './items-from-conversations.ts';
import { promptOf } from './prompt.ts';

interface ExampleMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export function fineTuningLine(item: ItemData): string {
  const vault = new PiiVault(new Set(PII_KINDS));
  const messages: ExampleMessage[] = [
    ...promptOf(item).map((m) => ({ role: m.role as ExampleMessage['role'], content: vault.mask(String(m.content ?? '')) })),
    { role: 'assistant', content: vault.mask(item.reference) },
  ];
  return JSON.stringify({ messages });
}
