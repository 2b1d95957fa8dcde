import { DEFAULT_HISTORY_TOKENS, type ModelPriceView } from '@warbler/protocol';

// What an agent's history budget means in money: the console shows it beside
// the field, so an operator choosing 8,000 or 128,000 tokens sees the price
// of each reply once a chat's history is full.

/** What a reply's cost needs of a model's price as GET /api/models gives it. */
export type ModelPrice = Pick<ModelPriceView, 'currency' | 'input_per_million' | 'cached_input_per_million' | 'output_per_million'>;

/** The server's default history budget, from the agent definition's schema. */
export { DEFAULT_HISTORY_TOKENS };

export interface ReplyCost {
  /** Prompt tokens of a reply when the history is full: the budget plus the system prompt. */
  promptTokens: number;
  currency: string;
  /** Input at the full rate plus max_tokens of output: what one reply costs at most. */
  atMost: number;
  /** The same when the stable beginning of the prompt (all but the newest turn) is served from the provider's cache. */
  cached: number;
}

/** Tokens of a text, roughly: about 4 characters per token in English, about 1 per character in Chinese. */
export function roughTokens(text: string): number {
  let cjk = 0;
  for (const ch of text) if (/[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]/.test(ch)) cjk++;
  return Math.ceil(cjk + (text.length - cjk) / 4);
}

/** Cost of one reply once the history has filled the budget; undefined when the model has no price. */
export function replyCost(input: { historyTokens: number; systemPrompt: string; maxTokens: number }, price: ModelPrice | null | undefined): ReplyCost | undefined {
  if (!price || !(input.historyTokens > 0)) return undefined;
  const promptTokens = Math.round(input.historyTokens) + roughTokens(input.systemPrompt);
  const out = (Math.max(0, input.maxTokens) * price.output_per_million) / 1e6;
  // The newest exchange is what changes from turn to turn; assume a few hundred tokens of it miss the cache.
  const fresh = Math.min(promptTokens, 300);
  return {
    promptTokens,
    currency: price.currency,
    atMost: (promptTokens * price.input_per_million) / 1e6 + out,
    cached: ((promptTokens - fresh) * price.cached_input_per_million + fresh * price.input_per_million) / 1e6 + out,
  };
}

/** "$0.0019", "¥0.012", "0.0019 EUR": two significant digits, enough to compare budgets. */
export function formatMoney(amount: number, currency: string): string {
  const digits = amount > 0 && amount < 1 ? Math.min(8, 1 - Math.floor(Math.log10(amount))) : 2;
  const text = amount.toFixed(digits);
  const code = currency.toUpperCase();
  return code === 'USD' ? `$${text}` : code === 'CNY' ? `¥${text}` : `${text} ${code}`;
}
