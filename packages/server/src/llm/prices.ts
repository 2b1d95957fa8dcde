// Prices per 1M tokens, per model, in the currency the provider bills in.
//
// Money is integers, never floats, so a ledger row and the sum of many rows
// are exact:
// - A rate is stored in micro-units of its currency per 1M tokens
//   ($0.075 / 1M → 75_000). Any published rate with up to 6 decimals is exact.
// - tokens × rate is then exactly pico-units (1e-12) of the currency; we do
//   that product in BigInt and round once per component to nano-units (1e-9),
//   half to even. A cost is an integer of nanos: what a ledger row stores and
//   what budgets add up. Every seeded rate has at most 3 decimals, so for them
//   no rounding ever happens (a token costs a whole number of nanos).
// - Cached tokens are a subset of prompt tokens and billed at the cached rate;
//   the rest of the prompt at the input rate. Reasoning tokens are a subset of
//   completion tokens and billed with them at the output rate.
import type { BilledUnit, BilledUnits } from './media.ts';
import type { Usage } from './types.ts';

export type Currency = 'USD' | 'CNY';

/** Integer micro-units of the currency per 1M tokens. */
export interface PriceRates {
  input: number;
  /** Unset: cached tokens cost the full input rate (the provider gives no discount). */
  cachedInput?: number;
  output: number;
  /** Unset: the provider has no batch API; batch lines are billed at the normal rates. */
  batchInput?: number;
  /** Unset: cached tokens in a batch cost `batchInput`. */
  batchCachedInput?: number;
  batchOutput?: number;
}

export interface ModelPrice {
  /** The upstream model name. Dated snapshots (gpt-4o-mini-2024-07-18, doubao-seed-1-6-250615) find it too. */
  model: string;
  aliases?: string[];
  /** Set when the same model name costs differently at different providers. */
  provider?: string;
  currency: Currency;
  /** YYYY-MM-DD. Several versions of a model may coexist; a call is priced by the newest in effect at its time. */
  effectiveFrom: string;
  perMillion: PriceRates;
  /**
   * For models billed in something other than tokens (audio seconds, TTS
   * characters, rerank searches): integer micro-units per 1M of that unit.
   * A call that reports units of this kind is billed by them alone.
   */
  perUnit?: { unit: BilledUnit; perMillion: number };
  source?: string;
  note?: string;
}

/** Identifies the exact price version a ledger row was billed with. */
export function priceId(p: ModelPrice): string {
  let id = priceIds.get(p);
  if (id === undefined) {
    id = `${p.provider ? `${p.provider}/` : ''}${p.model}@${p.effectiveFrom}`;
    priceIds.set(p, id);
  }
  return id;
}

// Every ledger row names its price twice (open, settled): built once per price, not per row.
const priceIds = new WeakMap<ModelPrice, string>();

const DECIMAL = /^(\d+)(?:\.(\d{1,6}))?$/;

/** "0.075" → 75_000 micro-units, exactly (no float arithmetic). */
export function toMicros(amount: string | number): number {
  const s = typeof amount === 'number' ? String(amount) : amount.trim();
  const m = DECIMAL.exec(s);
  if (!m) throw new RangeError(`price "${s}" must be a non-negative decimal with at most 6 decimals`);
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

type DecimalRates = { [K in keyof PriceRates]: PriceRates[K] extends number ? string | number : string | number | undefined };

/** Builds a price from human decimals, the way providers publish them. */
export function definePrice(
  p: Omit<ModelPrice, 'perMillion' | 'perUnit'> & { perMillion: DecimalRates; perUnit?: { unit: BilledUnit; perMillion: string | number } },
): ModelPrice {
  const perMillion: PriceRates = { input: toMicros(p.perMillion.input), output: toMicros(p.perMillion.output) };
  for (const k of ['cachedInput', 'batchInput', 'batchCachedInput', 'batchOutput'] as const) {
    const v = p.perMillion[k];
    if (v !== undefined) perMillion[k] = toMicros(v);
  }
  const { perUnit, ...rest } = p;
  return { ...rest, perMillion, ...(perUnit ? { perUnit: { unit: perUnit.unit, perMillion: toMicros(perUnit.perMillion) } } : {}) };
}

export interface Cost {
  currency: Currency;
  /** The total, integer nano-units (1e-9) of the currency; always input + cachedInput + output. */
  nanos: number;
  inputNanos: number;
  cachedInputNanos: number;
  outputNanos: number;
  priceId: string;
}

const PICOS_PER_NANO = 1000n;

function picosToNanos(picos: bigint): number {
  const q = picos / PICOS_PER_NANO;
  const r = picos % PICOS_PER_NANO;
  const half = PICOS_PER_NANO / 2n;
  const up = r > half || (r === half && q % 2n === 1n);
  return Number(up ? q + 1n : q);
}

function component(tokens: number, microsPerMillion: number): number {
  const picos = tokens * microsPerMillion;
  // Below 2^53 the product, its remainder and the quotient are exact in a double: the same answer as BigInt,
  // without the half-dozen BigInts per component every ledger row paid twice.
  if (Number.isInteger(tokens) && Math.abs(picos) <= Number.MAX_SAFE_INTEGER) {
    const r = picos % 1000;
    const q = (picos - r) / 1000;
    return r > 500 || (r === 500 && q % 2 === 1) ? q + 1 : q;
  }
  return picosToNanos(BigInt(tokens) * BigInt(microsPerMillion));
}

export function costOf(
  usage: Pick<Usage, 'promptTokens' | 'cachedTokens' | 'completionTokens'>,
  price: ModelPrice,
  options: { batch?: boolean } = {},
): Cost {
  const r = price.perMillion;
  const batch = options.batch === true && r.batchInput !== undefined;
  const inputRate = batch ? r.batchInput! : r.input;
  const cachedRate = batch ? (r.batchCachedInput ?? r.batchInput!) : (r.cachedInput ?? r.input);
  const outputRate = batch ? (r.batchOutput ?? r.output) : r.output;
  // Upstreams have been seen reporting more cached than prompt tokens; never bill a negative remainder.
  const cached = Math.min(Math.max(0, usage.cachedTokens), usage.promptTokens);
  const inputNanos = component(usage.promptTokens - cached, inputRate);
  const cachedInputNanos = component(cached, cachedRate);
  const outputNanos = component(usage.completionTokens, outputRate);
  return {
    currency: price.currency,
    nanos: inputNanos + cachedInputNanos + outputNanos,
    inputNanos,
    cachedInputNanos,
    outputNanos,
    priceId: priceId(price),
  };
}

/** What units cost at a price billed in them; undefined when the price is not in that unit (the call is priced by tokens). */
export function costOfUnits(units: BilledUnits, price: ModelPrice): Cost | undefined {
  if (price.perUnit?.unit !== units.unit) return undefined;
  const nanos = component(units.count, price.perUnit.perMillion);
  return { currency: price.currency, nanos, inputNanos: nanos, cachedInputNanos: 0, outputNanos: 0, priceId: priceId(price) };
}

/** 75_000 nanos → "0.000075" (for display and the gateway; the ledger keeps the integer). */
export function formatNanos(nanos: number): string {
  const sign = nanos < 0 ? '-' : '';
  const s = String(Math.abs(nanos)).padStart(10, '0');
  const frac = s.slice(-9).replace(/0+$/, '');
  return `${sign}${s.slice(0, -9)}${frac ? `.${frac}` : ''}`;
}

// A snapshot suffix: -2024-07-18, -250615 (Ark), -0919 (DashScope).
const SNAPSHOT = /-(\d{4}-\d{2}-\d{2}|\d{6}|\d{4})$/;

const DAY_MS = 86_400_000;
let lastDay = { n: Number.NaN, text: '' };

/** YYYY-MM-DD (UTC) of a time; the ledger prices two rows a call, nearly always on the same day, so the text is kept. */
function dayOf(ms: number): string {
  const n = Math.floor(ms / DAY_MS);
  if (n !== lastDay.n) lastDay = { n, text: new Date(n * DAY_MS).toISOString().slice(0, 10) };
  return lastDay.text;
}

export class PriceTable {
  private readonly byName = new Map<string, ModelPrice[]>();
  /** lookup() answers by model, provider and day; the ledger asks the same few questions on every call. */
  private readonly memo = new Map<string, ModelPrice | undefined>();

  constructor(private readonly all: readonly ModelPrice[]) {
    for (const p of all) {
      for (const name of [p.model, ...(p.aliases ?? [])]) {
        const key = name.toLowerCase();
        const list = this.byName.get(key) ?? [];
        list.push(p);
        this.byName.set(key, list);
      }
    }
  }

  entries(): readonly ModelPrice[] {
    return this.all;
  }

  /** A table where these prices win over the current ones from their date on (operator overrides, new versions). */
  with(prices: readonly ModelPrice[]): PriceTable {
    return new PriceTable([...this.all, ...prices]);
  }

  /** `at` (a Date or epoch ms) picks the version in effect then; default now. */
  lookup(model: string, options: { provider?: string; at?: Date | number } = {}): ModelPrice | undefined {
    const at = options.at;
    const day = dayOf(at === undefined ? Date.now() : typeof at === 'number' ? at : at.getTime());
    const memoKey = `${model}\u0000${options.provider ?? ''}\u0000${day}`;
    if (this.memo.has(memoKey)) return this.memo.get(memoKey);
    const found = this.find(model, options.provider, day);
    // Bounded: model names come from upstream answers, and days go by.
    if (this.memo.size >= 1000) this.memo.clear();
    this.memo.set(memoKey, found);
    return found;
  }

  private find(model: string, provider: string | undefined, day: string): ModelPrice | undefined {
    const key = model.toLowerCase();
    const candidates = this.byName.get(key) ?? this.byName.get(key.replace(SNAPSHOT, ''));
    if (!candidates) return undefined;
    let best: ModelPrice | undefined;
    let bestRank = -1;
    for (const p of candidates) {
      if (p.effectiveFrom > day) continue;
      if (p.provider !== undefined && p.provider !== provider) continue;
      // Newest version first; at the same date a provider-specific price beats a generic one,
      // and a later entry (an override) beats an earlier one.
      const rank = Number(p.effectiveFrom.replaceAll('-', '')) * 2 + (p.provider !== undefined ? 1 : 0);
      if (rank >= bestRank) {
        best = p;
        bestRank = rank;
      }
    }
    return best;
  }
}

// Seed prices: published list prices for the default region of each preset's base URL.
// Figures marked "unverified" come from the provider's page as we last knew it and
// could not be re-checked from this machine; operators override them in warbler.yaml.
export const SEED_PRICES: readonly ModelPrice[] = [
  // Source: https://openai.com/api/pricing/ (checked 2025-10). Batch API is half price;
  // OpenAI lists no batch rate for cached input, so cached batch tokens cost the batch input rate.
  definePrice({
    model: 'gpt-4o-mini',
    currency: 'USD',
    effectiveFrom: '2024-10-01',
    perMillion: { input: '0.15', cachedInput: '0.075', output: '0.60', batchInput: '0.075', batchOutput: '0.30' },
    source: 'https://openai.com/api/pricing/',
  }),
  definePrice({
    model: 'gpt-4o',
    currency: 'USD',
    effectiveFrom: '2024-10-01',
    perMillion: { input: '2.50', cachedInput: '1.25', output: '10.00', batchInput: '1.25', batchOutput: '5.00' },
    source: 'https://openai.com/api/pricing/',
  }),
  // Source: https://api-docs.deepseek.com/quick_start/pricing (DeepSeek-V3.2-Exp prices from
  // 2025-09-29; unverified here). deepseek-chat and deepseek-reasoner cost the same; cache hits
  // are the cached rate. No batch API. Earlier (V3, 2025-02) it was $0.07 / $0.27 / $1.10.
  definePrice({
    model: 'deepseek-chat',
    currency: 'USD',
    effectiveFrom: '2025-09-29',
    perMillion: { input: '0.28', cachedInput: '0.028', output: '0.42' },
    source: 'https://api-docs.deepseek.com/quick_start/pricing',
    note: 'unverified; V3.2-Exp list price',
  }),
  definePrice({
    model: 'deepseek-reasoner',
    currency: 'USD',
    effectiveFrom: '2025-09-29',
    perMillion: { input: '0.28', cachedInput: '0.028', output: '0.42' },
    source: 'https://api-docs.deepseek.com/quick_start/pricing',
    note: 'unverified; V3.2-Exp list price',
  }),
  // Source: Alibaba Cloud Model Studio (Bailian) pricing, China (Beijing) region, which is
  // dashscope.aliyuncs.com (https://help.aliyun.com/zh/model-studio/models). Unverified here.
  // Non-thinking rates of the lowest input tier (≤128K); thinking mode bills output at
  // ¥8 (plus) / ¥3 (turbo) and longer inputs cost more — not modelled, see note.
  // Implicit-cache hits bill at 20% of input; the batch API at 50%.
  definePrice({
    model: 'qwen-plus',
    currency: 'CNY',
    effectiveFrom: '2025-07-28',
    perMillion: { input: '0.8', cachedInput: '0.16', output: '2', batchInput: '0.4', batchOutput: '1' },
    source: 'https://help.aliyun.com/zh/model-studio/models',
    note: 'unverified; tier 0-128K input, non-thinking output; thinking output ¥8/1M',
  }),
  definePrice({
    model: 'qwen-turbo',
    currency: 'CNY',
    effectiveFrom: '2025-07-15',
    perMillion: { input: '0.3', cachedInput: '0.06', output: '0.6', batchInput: '0.15', batchOutput: '0.3' },
    source: 'https://help.aliyun.com/zh/model-studio/models',
    note: 'unverified; non-thinking output; thinking output ¥3/1M',
  }),
  // Source: Volcengine Ark pricing (https://www.volcengine.com/docs/82379/1544106), unverified here.
  // doubao-seed-1.6 is tiered by input length; this is the 0-32K tier with output over
  // 200 tokens (¥2/1M when the output is 200 tokens or less; 32-128K input: ¥1.2 / ¥16;
  // 128-256K: ¥2.4 / ¥24). Cache hits ¥0.16/1M (cache storage is billed separately by
  // the hour, not here). Batch inference is half price.
  definePrice({
    model: 'doubao-seed-1-6',
    aliases: ['doubao-seed-1.6'],
    currency: 'CNY',
    effectiveFrom: '2025-06-11',
    perMillion: { input: '0.8', cachedInput: '0.16', output: '8', batchInput: '0.4', batchOutput: '4' },
    source: 'https://www.volcengine.com/docs/82379/1544106',
    note: 'unverified; tier 0-32K input, output >200 tokens',
  }),
  definePrice({
    model: 'doubao-1-5-pro-32k',
    aliases: ['doubao-1.5-pro-32k'],
    currency: 'CNY',
    effectiveFrom: '2025-01-22',
    perMillion: { input: '0.8', cachedInput: '0.16', output: '2', batchInput: '0.4', batchOutput: '1' },
    source: 'https://www.volcengine.com/docs/82379/1544106',
    note: 'unverified',
  }),
  // Embeddings bill input only. Source: https://openai.com/api/pricing/
  definePrice({
    model: 'text-embedding-3-small',
    currency: 'USD',
    effectiveFrom: '2024-01-25',
    perMillion: { input: '0.02', output: '0', batchInput: '0.01', batchOutput: '0' },
    source: 'https://openai.com/api/pricing/',
  }),
  // The embedding models each preset serves by default (settings/build-router.ts). Each figure is
  // from the provider's published price list as of 2025-10, not re-checked here (no web access):
  // operators override them under `prices:` in warbler.yaml.
  definePrice({
    model: 'text-embedding-3-large',
    currency: 'USD',
    effectiveFrom: '2024-01-25',
    perMillion: { input: '0.13', output: '0', batchInput: '0.065', batchOutput: '0' },
    source: 'https://openai.com/api/pricing/',
    note: 'from the published price list as of 2025-10, not re-checked here',
  }),
  // DashScope (Model Studio, China (Beijing) region): ¥0.0005 per 1K tokens for both; batch at half.
  definePrice({
    model: 'text-embedding-v3',
    currency: 'CNY',
    effectiveFrom: '2024-09-01',
    perMillion: { input: '0.5', output: '0', batchInput: '0.25', batchOutput: '0' },
    source: 'https://help.aliyun.com/zh/model-studio/models',
    note: 'from the published price list as of 2025-10, not re-checked here',
  }),
  definePrice({
    model: 'text-embedding-v4',
    currency: 'CNY',
    effectiveFrom: '2025-05-01',
    perMillion: { input: '0.5', output: '0', batchInput: '0.25', batchOutput: '0' },
    source: 'https://help.aliyun.com/zh/model-studio/models',
    note: 'from the published price list as of 2025-10, not re-checked here',
  }),
  // Volcengine Ark: Doubao-embedding ¥0.0005 / 1K tokens, Doubao-embedding-large ¥0.0007 / 1K tokens.
  definePrice({
    model: 'doubao-embedding',
    aliases: ['doubao-embedding-text'],
    currency: 'CNY',
    effectiveFrom: '2024-07-15',
    perMillion: { input: '0.5', output: '0' },
    source: 'https://www.volcengine.com/docs/82379/1544106',
    note: 'from the published price list as of 2025-10, not re-checked here',
  }),
  definePrice({
    model: 'doubao-embedding-large',
    aliases: ['doubao-embedding-large-text'],
    currency: 'CNY',
    effectiveFrom: '2024-09-15',
    perMillion: { input: '0.7', output: '0' },
    source: 'https://www.volcengine.com/docs/82379/1544106',
    note: 'from the published price list as of 2025-10, not re-checked here',
  }),
  // Audio (/v1/audio/*): OpenAI publishes Whisper and TTS per minute and per 1M characters; the gpt-4o
  // transcribe and TTS models are billed per token there, and the per-minute figure is OpenAI's own estimate.
  // Source: https://openai.com/api/pricing/ as last known (2025); not re-checked from this machine.
  definePrice({
    model: 'whisper-1', currency: 'USD', effectiveFrom: '2023-03-01', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'second', perMillion: '100' }, source: 'https://openai.com/api/pricing/', note: '$0.006 per minute, rounded to the second',
  }),
  definePrice({
    model: 'gpt-4o-transcribe', currency: 'USD', effectiveFrom: '2025-03-20', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'second', perMillion: '100' }, source: 'https://openai.com/api/pricing/', note: "OpenAI's estimate of $0.006 per minute; OpenAI bills it per token",
  }),
  definePrice({
    model: 'gpt-4o-mini-transcribe', currency: 'USD', effectiveFrom: '2025-03-20', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'second', perMillion: '50' }, source: 'https://openai.com/api/pricing/', note: "OpenAI's estimate of $0.003 per minute; OpenAI bills it per token",
  }),
  definePrice({
    model: 'tts-1', currency: 'USD', effectiveFrom: '2023-11-06', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'character', perMillion: '15' }, source: 'https://openai.com/api/pricing/', note: '$15 per 1M characters',
  }),
  definePrice({
    model: 'tts-1-hd', currency: 'USD', effectiveFrom: '2023-11-06', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'character', perMillion: '30' }, source: 'https://openai.com/api/pricing/', note: '$30 per 1M characters',
  }),
  definePrice({
    model: 'gpt-4o-mini-tts', currency: 'USD', effectiveFrom: '2025-03-20', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'character', perMillion: '15' }, source: 'https://openai.com/api/pricing/',
    note: 'an approximation: OpenAI bills it per token (about $0.015 per minute of audio); priced here like tts-1. Override it if you need exact figures',
  }),
  // Rerank (/v1/rerank). Not re-checked from this machine: see docs/gateway.md for what was checked and how.
  definePrice({
    model: 'rerank-v3.5', provider: 'cohere', currency: 'USD', effectiveFrom: '2024-12-02', perMillion: { input: '0', output: '0' },
    perUnit: { unit: 'search', perMillion: '2000' }, source: 'https://cohere.com/pricing', note: '$2 per 1,000 searches (a search: one query with up to 100 documents)',
  }),
  definePrice({
    model: 'jina-reranker-v2-base-multilingual', provider: 'jina', currency: 'USD', effectiveFrom: '2024-06-25', perMillion: { input: '0.02', output: '0' },
    source: 'https://jina.ai/reranker/', note: 'per token of query and documents; unverified, Jina sells token packs',
  }),
  definePrice({
    model: 'BAAI/bge-reranker-v2-m3', provider: 'siliconflow', currency: 'CNY', effectiveFrom: '2024-07-01', perMillion: { input: '0', output: '0' },
    source: 'https://siliconflow.cn/pricing', note: 'listed as free; unverified',
  }),
  definePrice({
    model: 'gte-rerank-v2', provider: 'dashscope-rerank', currency: 'CNY', effectiveFrom: '2024-11-01', perMillion: { input: '0.8', output: '0' },
    source: 'https://help.aliyun.com/zh/model-studio/text-rerank-api', note: '¥0.0008 per 1K tokens; unverified',
  }),
  // Ollama runs on the operator's own machine: no bill.
  definePrice({
    model: 'nomic-embed-text',
    provider: 'ollama',
    currency: 'USD',
    effectiveFrom: '2024-01-01',
    perMillion: { input: '0', output: '0' },
    note: 'runs on your own Ollama server; costs nothing per token',
  }),
];

export const seedPriceTable = (): PriceTable => new PriceTable(SEED_PRICES);
