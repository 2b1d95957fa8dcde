// The cost policy (docs/costs.md) in one place: what a Router attempt becomes
// in the ledger. The router already decides *what was used* (upstream usage,
// an o200k estimate for partial output, nothing for an attempt that produced
// nothing); this file decides what that costs and how the row reads.
import { costOf, costOfUnits, type AttemptReport, type AttemptStart, type LlmErrorKind, type ModelPrice, type PriceTable } from '../llm/index.ts';
import type { LedgerRow } from '../store/index.ts';
import { reservedUsage } from './reservation.ts';

/** Who made a model call. Passed as `context` of every Router call so the ledger can attribute it. */
export interface UsageContext {
  app_id: string;
  source: LedgerRow['source'];
  agent_id?: string | null;
  key_id?: string | null;
  user_id?: string | null;
  conversation_id?: string | null;
  message_id?: string | null;
  request_id?: string | null;
  /** What the call was for ('reply', 'summary'); reports group by it. */
  purpose?: string | null;
  /** Bill at the model's batch rates (a provider's native batch API). Lines a batch runs through the router pay normal rates. */
  batch_rates?: boolean;
}

// 'shadow': an experiment's replays and its judge, paid from the experiment's own budget (docs/experiments.md).
// 'eval': a dataset run's replies and its judge, paid from the run's own budget (docs/experiments.md, Datasets).
const SOURCES = new Set(['agent', 'gateway', 'batch', 'shadow', 'eval']);

export function isUsageContext(value: unknown): value is UsageContext {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.app_id === 'string' && v.app_id.length > 0 && SOURCES.has(v.source as string);
}

/**
 * How an attempt ended, in the ledger's words. 'pending' is an attempt still
 * in flight (its row holds the most it may cost); 'interrupted' one the server
 * stopped running mid-call (a crash, or the shutdown grace ran out).
 */
export type LedgerOutcome = 'ok' | 'stopped' | 'cut' | 'timeout' | 'rate_limited' | 'unavailable' | 'error' | 'pending' | 'interrupted';

export const IN_FLIGHT: LedgerOutcome = 'pending';
export const INTERRUPTED: LedgerOutcome = 'interrupted';

const OUTCOME_BY_KIND: Partial<Record<LlmErrorKind, LedgerOutcome>> = {
  aborted: 'stopped',
  cut_stream: 'cut',
  timeout: 'timeout',
  rate_limited: 'rate_limited',
  unavailable: 'unavailable',
};

export function outcomeOf(report: Pick<AttemptReport, 'outcome' | 'error'> & { committed?: boolean }): LedgerOutcome {
  if (report.outcome === 'success') return 'ok';
  // Garbage mid-reply ends it like a broken connection does: the user saw part of an answer.
  if (report.error?.kind === 'malformed' && report.committed) return 'cut';
  if (report.error) return OUTCOME_BY_KIND[report.error.kind] ?? 'error';
  return report.outcome === 'aborted' ? 'stopped' : 'error';
}

const MAX_ERROR_CHARS = 500;

function errorText(report: AttemptReport): string | null {
  const e = report.error;
  if (!e) return null;
  const head = `${e.kind}${e.status !== undefined ? ` ${e.status}` : ''}`;
  const text = `${head}: ${e.message}`;
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

/**
 * The price an attempt is billed at: the upstream model first (what actually
 * ran, dated snapshots included), then the route's name, which is how an
 * operator prices an alias such as an Ark endpoint id.
 */
export function priceFor(report: Pick<AttemptReport, 'upstreamModel' | 'model' | 'requestedModel' | 'provider' | 'startedAt'>, prices: PriceTable): ModelPrice | undefined {
  // Each name once, in this order (no Set and Date per ledger row: two rows per call ask this).
  const options = { provider: report.provider, at: report.startedAt };
  const { upstreamModel, model, requestedModel } = report;
  return (upstreamModel ? prices.lookup(upstreamModel, options) : undefined)
    ?? (model && model !== upstreamModel ? prices.lookup(model, options) : undefined)
    ?? (requestedModel && requestedModel !== upstreamModel && requestedModel !== model ? prices.lookup(requestedModel, options) : undefined);
}

export interface RowInput {
  id: string;
  /** When the row is recorded (ms); budgets count it in this month. */
  createdAt: number;
  context: UsageContext;
  prices: PriceTable;
  /** The attempt's price, already looked up in `prices` (when its open row was priced): not looked up again. */
  known?: { price: ModelPrice | undefined };
}

export interface PricedRow {
  row: LedgerRow;
  /** Set when the model has no price: the row is written with cost 0 and the caller should say so once. */
  unpriced?: string;
}

/** One attempt → one ledger row. Pure: the Ledger adds ids, time and buffering. */
export function ledgerRowFromAttempt(report: AttemptReport, input: RowInput): PricedRow {
  const { context } = input;
  const usage = report.usage;
  const units = report.units;
  const price = usage || units ? (input.known ? input.known.price : priceFor(report, input.prices)) : undefined;
  // A price in the call's own unit (seconds, characters, searches) decides; otherwise its tokens do.
  const byUnits = units && price ? costOfUnits(units, price) : undefined;
  const cost = byUnits ?? (usage && price ? costOf(usage, price, { batch: context.batch_rates === true }) : undefined);
  const row: LedgerRow = {
    id: input.id,
    app_id: context.app_id,
    source: context.source,
    agent_id: context.agent_id ?? null,
    key_id: context.key_id ?? null,
    user_id: context.user_id ?? null,
    conversation_id: context.conversation_id ?? null,
    message_id: context.message_id ?? null,
    request_id: context.request_id ?? null,
    purpose: context.purpose ?? null,
    model: report.requestedModel,
    deployment: report.deployment || null,
    provider: report.provider || null,
    upstream_model: report.upstreamModel || null,
    attempt: report.attempt,
    prompt_tokens: usage?.promptTokens ?? 0,
    cached_tokens: usage?.cachedTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
    reasoning_tokens: usage?.reasoningTokens ?? 0,
    estimated: byUnits ? units!.estimated : (usage?.estimated ?? false),
    cost_nanos: BigInt(cost?.nanos ?? 0),
    // An unpriced row still needs a currency; USD keeps sums in one column.
    currency: cost?.currency ?? price?.currency ?? 'USD',
    price_id: cost?.priceId ?? null,
    ttft_ms: report.ttftMs === undefined ? null : Math.round(report.ttftMs),
    latency_ms: Math.round(report.latencyMs),
    outcome: outcomeOf(report),
    error: errorText(report),
    created_at: input.createdAt,
    ...(units ? { billed_unit: units.unit, billed_units: units.count } : {}),
  };
  return (usage || units) && !price ? { row, unpriced: report.upstreamModel || report.model } : { row };
}

/**
 * The row of an attempt as it is sent: outcome 'pending', the prompt's quick
 * estimate and the output it may produce, priced, flagged as estimated. It
 * is what budgets and reports count until the attempt ends.
 */
export function openRowFromStart(start: AttemptStart, input: RowInput): LedgerRow {
  const { context } = input;
  const reserved = reservedUsage(start.request);
  const usage = { promptTokens: reserved.promptTokens, cachedTokens: 0, completionTokens: reserved.completionTokens };
  const price = input.known ? input.known.price : priceFor(start, input.prices);
  const cost = price ? costOf(usage, price, { batch: context.batch_rates === true }) : undefined;
  return {
    id: input.id,
    app_id: context.app_id,
    source: context.source,
    agent_id: context.agent_id ?? null,
    key_id: context.key_id ?? null,
    user_id: context.user_id ?? null,
    conversation_id: context.conversation_id ?? null,
    message_id: context.message_id ?? null,
    request_id: context.request_id ?? null,
    purpose: context.purpose ?? null,
    model: start.requestedModel,
    deployment: start.deployment || null,
    provider: start.provider || null,
    upstream_model: start.upstreamModel || null,
    attempt: start.attempt,
    prompt_tokens: usage.promptTokens,
    cached_tokens: 0,
    completion_tokens: usage.completionTokens,
    reasoning_tokens: 0,
    estimated: true,
    cost_nanos: BigInt(cost?.nanos ?? 0),
    currency: cost?.currency ?? price?.currency ?? 'USD',
    price_id: cost?.priceId ?? null,
    ttft_ms: null,
    latency_ms: 0,
    outcome: IN_FLIGHT,
    error: null,
    created_at: input.createdAt,
  };
}

/**
 * An open row settled as 'interrupted': the prompt estimate it was opened
 * with, plus the output known to have been delivered (o200k count of the
 * text, 0 when nothing was kept), priced at the version in effect when it
 * started and flagged as estimated.
 */
export function interruptedRow(
  open: LedgerRow,
  input: { completionTokens: number; createdAt: number; prices: PriceTable; reason: string },
): LedgerRow {
  const usage = { promptTokens: open.prompt_tokens, cachedTokens: 0, completionTokens: input.completionTokens };
  const price = priceFor(
    { upstreamModel: open.upstream_model ?? '', model: open.model, requestedModel: open.model, provider: open.provider ?? '', startedAt: open.created_at },
    input.prices,
  );
  // Native batch lines (the only ones at batch rates) are written whole by the batch runner, never opened here.
  const cost = price ? costOf(usage, price) : undefined;
  return {
    ...open,
    completion_tokens: input.completionTokens,
    estimated: true,
    cost_nanos: BigInt(cost?.nanos ?? 0),
    currency: cost?.currency ?? open.currency,
    price_id: cost?.priceId ?? open.price_id,
    latency_ms: Math.max(0, input.createdAt - open.created_at),
    outcome: INTERRUPTED,
    error: input.reason,
    created_at: input.createdAt,
  };
}
