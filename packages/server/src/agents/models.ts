/**
 * What Warbler knows of a model for building its context: how many tokens it
 * reads, and whether it sees images. Names match by prefix so dated
 * snapshots (gpt-4o-mini-2024-07-18) inherit their family's facts.
 */
export interface ModelFacts {
  contextWindow: number;
  vision: boolean;
}

const FACTS: [prefix: string, facts: ModelFacts][] = [
  ['local/kb-answer', { contextWindow: 16_000, vision: false }],
  ['gpt-4o-mini', { contextWindow: 128_000, vision: true }],
  ['gpt-4o', { contextWindow: 128_000, vision: true }],
  ['gpt-4.1', { contextWindow: 1_000_000, vision: true }],
  ['deepseek-chat', { contextWindow: 64_000, vision: false }],
  ['deepseek-reasoner', { contextWindow: 64_000, vision: false }],
  ['qwen-vl', { contextWindow: 32_000, vision: true }],
  ['qwen-plus', { contextWindow: 131_072, vision: false }],
  ['qwen-turbo', { contextWindow: 131_072, vision: false }],
  ['qwen-max', { contextWindow: 32_768, vision: false }],
  ['doubao-seed-1.6', { contextWindow: 256_000, vision: true }],
  ['doubao-seed-1-6', { contextWindow: 256_000, vision: true }],
  ['doubao-1.5-vision', { contextWindow: 128_000, vision: true }],
  ['doubao-1.5-pro-32k', { contextWindow: 32_000, vision: false }],
  ['doubao-1-5-pro-32k', { contextWindow: 32_000, vision: false }],
  ['llava', { contextWindow: 4_096, vision: true }],
];

/** Unknown models are assumed to be small text-only models: safe for context building, honest about images. */
const UNKNOWN: ModelFacts = { contextWindow: 8_192, vision: false };

export function modelFacts(model: string): ModelFacts {
  const name = model.toLowerCase();
  let best: [string, ModelFacts] | undefined;
  for (const entry of FACTS) if (name.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  return best?.[1] ?? UNKNOWN;
}
