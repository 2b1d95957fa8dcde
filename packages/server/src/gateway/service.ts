import { performance } from 'node:perf_hooks';
import { safeEqual } from '../auth/secrets.ts';
import { ContentBlocked, ModerationFlagged, type Guardrails, type PromptScreen } from '../guardrails/index.ts';
import { moderatedStream, withheldReply } from './output-moderation.ts';
import {
  countChatTokens,
  countTextTokens,
  quickPromptTokens,
  type AttemptReport,
  type ChatCompletion,
  type ChatRequest,
  type ChatStreamPart,
  type EmbedResult,
  type RouterCallOptions,
  type StopSignal,
  type Usage,
} from '../llm/index.ts';
import type { ApiKeyRow, LedgerRow } from '../store/index.ts';
import { bearer } from '../tenancy/index.ts';
import { asksForOutput, expectedOutputTokens, type BudgetCheck, type BudgetScope, type UsageContext } from '../usage/index.ts';
import { mayUse, type GatewayCaller } from './caller.ts';
import {
  invalidApiKey,
  modelNotAllowed,
  modelNotFound,
  OpenAiError,
  toOpenAiError,
  type OpenAiErrorBody,
} from './errors.ts';
import type { Keys } from './keys.ts';
import { looksLikeKey } from './keys.ts';
import { TURN_WAIT_MS, type Turns } from '../turns.ts';
import { rateLimitHeaders, type KeyLimits } from './limits.ts';
import { cacheHitRow, cacheTtlMs, type ResponseCache } from './response-cache.ts';
import { parseChatBody, parseEmbeddingsBody, type ChatBody, type EmbeddingsBody } from './validate.ts';
import { completionBody, embeddingBase64 } from './wire.ts';

/** The model layer as the gateway uses it: the Router. */
export interface GatewayModels {
  models(): string[];
  chat(request: ChatRequest, options?: RouterCallOptions): AsyncIterable<ChatStreamPart>;
  complete(request: ChatRequest, options?: RouterCallOptions): Promise<ChatCompletion>;
  embed(request: { model: string; input: string[]; dimensions?: number }, options?: RouterCallOptions): Promise<EmbedResult>;
}

export interface GatewayDeps {
  models: GatewayModels;
  keys: Keys;
  budgets: { check(appId: string, scope: BudgetScope, limitUsd: number | null | undefined): Promise<BudgetCheck> };
  limits: KeyLimits;
  /** Calls one key may have running at once on this node; absent: no cap. */
  concurrency?: Turns;
  masterKey: string;
  /** The app the master key acts for when no X-Warbler-App names one. */
  defaultAppId: string;
  appExists(appId: string): Promise<boolean>;
  /** Sensitive words and PII masking on every chat prompt (HTTP and batches); absent: none. */
  guardrails?: Guardrails;
  /** Exact-match answers for keys that opt in (metadata.cache_ttl_seconds); absent: no caching. */
  cache?: ResponseCache;
  /** Where a cache hit's zero-cost ledger row goes (the Ledger's append). */
  ledger?: { append(row: LedgerRow): void };
  /** Told of every /v1 chat call that ended well (experiments shadow a route's traffic); must return at once. */
  observe?: (turn: GatewayTurn) => void;
  /** Whether anything observes this app's calls to this model now: the others pay nothing for the hook. */
  observes?: (appId: string, model: string) => boolean;
  now?: () => number;
}

/** A /v1 chat call that ended well: the request as upstream got it (after the guardrails) and what came back, before masked values were put back. */
export interface GatewayTurn {
  appId: string;
  keyId: string | null;
  requestId: string;
  request: ChatRequest;
  answer: string;
  usage: Usage;
  model: string;
  ttftMs: number | null;
  latencyMs: number;
}

/**
 * The usage context of one gateway call. The router hands it to onAttempt
 * untouched; noteGatewayAttempt() writes into it which deployment answered,
 * which is how a non-streaming reply learns it for its header.
 */
export class GatewayUsage implements UsageContext {
  deployment: string | null = null;
  constructor(
    readonly app_id: string,
    readonly source: 'gateway' | 'batch',
    readonly key_id: string | null,
    readonly request_id: string,
  ) {}
}

/** Chain after the ledger's onAttempt: records on a gateway call's context which deployment answered. */
export function noteGatewayAttempt(report: AttemptReport): void {
  if (report.committed && report.context instanceof GatewayUsage) report.context.deployment = report.deployment;
}

/** What a call was let through with: headers to send, and the tokens it reserved. */
export interface Admission {
  headers: Record<string, string>;
  reservedTokens: number;
  /** The call's guardrails, when its policy does anything: the reply passes through it (masked values put back). */
  screen?: PromptScreen;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** What stops the model call, when not `signal` (a /v1 request's client watch: no AbortSignal made unless something needs one). */
  stop?: StopSignal;
  /** 'batch' for lines a batch runs; default 'gateway'. */
  source?: 'gateway' | 'batch';
}

/** A finished non-streaming call: the OpenAI body, which deployment answered, and time spent upstream. */
export interface Answer {
  body: Record<string, unknown>;
  /** `body` as upstream's text, when it is relayed unchanged: sent as it is, not serialised again. */
  text?: string;
  deployment: string | null;
  upstreamMs: number;
}

/** An opened stream: parts from the first content on (the router's `start` first). */
export interface OpenedStream {
  deployment: string;
  model: string;
  /** performance.now() when the router was called: the stream's overhead header covers up to here. */
  upstreamStart: number;
  parts: AsyncGenerator<ChatStreamPart>;
  first: ChatStreamPart;
}

/** What runCompletion returns: an OpenAI response body (status 200) or an OpenAI error body with its status. */
export type CompletionResult =
  | { ok: true; status: 200; body: Record<string, unknown>; deployment: string | null }
  | { ok: false; status: number; body: OpenAiErrorBody };

export type CompletionEndpoint = '/v1/chat/completions' | '/v1/embeddings';

let idCounter = 0;
const idBase = Date.now().toString(36);
/** Cheap unique ids for completions we build ourselves (in-process models). */
const completionId = () => `chatcmpl-w${idBase}${(++idCounter).toString(36)}`;

/**
 * The /v1 gateway: who is calling, may they, and the call itself through the
 * Router with limits and metering on every path (HTTP and batches alike).
 */
export class Gateway {
  private modelSet: Set<string>;
  private modelList: string[];
  private readonly knownApps = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: GatewayDeps) {
    this.modelList = deps.models.models();
    this.modelSet = new Set(this.modelList);
    this.now = deps.now ?? Date.now;
  }

  /** The router's models changed (a provider added or removed in the console): /v1 serves the new list from now on. */
  refreshModels(): void {
    this.modelList = this.deps.models.models();
    this.modelSet = new Set(this.modelList);
  }

  /**
   * The caller of a /v1 request: a virtual key (its app and limits), or the
   * master key acting for X-Warbler-App or the default app. Throws a 401
   * OpenAiError for a missing, unknown, revoked or expired key.
   */
  async authenticate(authorization: string | undefined, appHeader: string | undefined, requestId: string): Promise<GatewayCaller> {
    const secret = bearer(authorization);
    if (!secret) throw invalidApiKey('No API key: send it as Authorization: Bearer <key>.');
    if (looksLikeKey(secret)) {
      const key = await this.deps.keys.find(secret);
      if (!key) throw invalidApiKey();
      if (key.revoked_at !== null) throw invalidApiKey('This API key was revoked. Ask an operator for a new one.');
      if (key.expires_at !== null && key.expires_at <= this.now()) {
        throw invalidApiKey(`This API key expired at ${new Date(key.expires_at).toISOString()}. Ask an operator to extend it or for a new one.`);
      }
      return { appId: key.app_id, key, requestId };
    }
    if (safeEqual(secret, this.deps.masterKey)) {
      const appId = appHeader || this.deps.defaultAppId;
      if (!this.knownApps.has(appId)) {
        if (!(await this.deps.appExists(appId))) throw new OpenAiError(404, `No app "${appId}" (from X-Warbler-App).`, 'invalid_request_error', 'app_not_found');
        this.knownApps.add(appId);
      }
      return { appId, key: null, requestId };
    }
    throw invalidApiKey();
  }

  /** authenticate() for an HTTP request (Fastify's or any with headers and an id): the /v1 authenticator. */
  authenticateRequest(request: { headers: Record<string, string | string[] | undefined>; id: string }): Promise<GatewayCaller> {
    const auth = request.headers.authorization;
    const app = request.headers['x-warbler-app'];
    return this.authenticate(typeof auth === 'string' ? auth : undefined, typeof app === 'string' ? app : undefined, request.id);
  }

  /** The model names this caller may use, in the router's order. */
  models(caller: GatewayCaller): string[] {
    const allowed = caller.key?.allowed_models;
    return allowed == null ? this.modelList : this.modelList.filter((m) => allowed.includes(m));
  }

  has(model: string): boolean {
    return this.modelSet.has(model);
  }

  /**
   * Every check a call passes before any model is asked: the model exists and
   * the key may use it, the monthly budget is not spent, and the RPM and TPM
   * buckets have room (taking one request, and the prompt's tokens plus the
   * output the request may produce, from them). Throws an OpenAiError (with
   * the rate-limit headers) when it may not go on. `output` is the chat
   * request's max_tokens / max_completion_tokens; embeddings have none.
   */
  async admit(
    caller: GatewayCaller,
    model: string,
    countPrompt: () => number,
    quickPrompt?: () => number,
    output?: Pick<ChatRequest, 'max_tokens' | 'max_completion_tokens'> & Partial<Pick<ChatRequest, 'messages'>>,
    source: 'gateway' | 'batch' = 'gateway',
  ): Promise<Admission> {
    if (!this.modelSet.has(model)) throw modelNotFound(model);
    // Guardrails first: a blocked prompt takes nothing from the key's budget or buckets, and never leaves.
    const screen = output?.messages ? this.screenPrompt(caller, output.messages, source) : undefined;
    if (screen?.moderatesInput) await moderateInput(screen, output!.messages!);
    const key = caller.key;
    const headers: Record<string, string> = {};
    if (!key) return { headers, reservedTokens: 0, ...(screen && { screen }) };
    if (!mayUse(caller, model)) throw modelNotAllowed(model);
    if (key.monthly_budget_usd !== null) {
      const budget = await this.deps.budgets.check(key.app_id, { keyId: key.id }, key.monthly_budget_usd);
      if (!budget.ok) throw toOpenAiError(budget.error);
    }
    if (key.rpm === null && key.tpm === null) return { headers, reservedTokens: 0, ...(screen && { screen }) };
    const prompt = key.tpm === null ? 0 : promptReservation(key.tpm, countPrompt, quickPrompt);
    const completion = key.tpm === null || !output ? 0 : outputReservation(key.tpm, prompt, output);
    const check = await this.deps.limits.take(key.id, key.rpm, key.tpm, prompt + completion);
    rateLimitHeaders(check, headers);
    if (!check.ok) throw limitError(key, check.kind!, { prompt, completion }, check.retryAfterMs ?? 1000, check.tooLarge === true, headers);
    return { headers, reservedTokens: prompt + completion, ...(screen && { screen }) };
  }

  /** The one guardrails hook of /v1 and batches: masks the prompt in place, or throws a 400 content_policy_violation. */
  private screenPrompt(caller: GatewayCaller, messages: ChatRequest['messages'], source: 'gateway' | 'batch'): PromptScreen | undefined {
    const policy = caller.key?.metadata.guardrails;
    const screen = this.deps.guardrails?.screen({
      appId: caller.appId, path: source === 'batch' ? 'batch' : 'v1', who: caller.key?.id ?? null,
      policy: typeof policy === 'string' ? policy : undefined, notes: source === 'gateway' ? caller.guardrails : undefined,
    });
    try {
      screen?.messages(messages);
    } catch (err) {
      if (err instanceof ContentBlocked) throw new OpenAiError(400, err.message, 'invalid_request_error', 'content_policy_violation', 'messages', { 'x-should-retry': 'false' });
      throw err;
    }
    return screen;
  }

  /**
   * admit() for calls that cost nothing and name no model of ours
   * (moderations): only the key's RPM bucket, so a free endpoint cannot be
   * used to flood the server.
   */
  async admitUnbilled(caller: GatewayCaller): Promise<Admission> {
    const key = caller.key;
    const headers: Record<string, string> = {};
    if (!key || (key.rpm === null && key.tpm === null)) return { headers, reservedTokens: 0 };
    const check = await this.deps.limits.take(key.id, key.rpm, key.tpm, 0);
    rateLimitHeaders(check, headers);
    if (!check.ok) throw limitError(key, check.kind!, { prompt: 0, completion: 0 }, check.retryAfterMs ?? 1000, false, headers);
    return { headers, reservedTokens: 0 };
  }

  /**
   * Takes one of the key's running slots for a call about to start (waiting
   * a moment for one when the key is at its cap), and returns what gives it
   * back: call it when the call has ended, however it ended; a second call
   * does nothing. Throws a 429 when no slot came, so one key cannot crowd
   * out every other tenant's calls. The master key (the operator's) is not capped.
   */
  async enter(caller: GatewayCaller, signal?: StopSignal): Promise<() => void> {
    const key = caller.key;
    const cap = this.deps.concurrency;
    if (!key || !cap) return () => {};
    if (!(await cap.enter(key.id, signal))) throw tooManyRunning(cap.max);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      cap.leave(key.id);
    };
  }

  /** Charges the key's token bucket what the call really used. */
  settle(caller: GatewayCaller, admission: Admission, usedTokens: number): void {
    const key = caller.key;
    if (key?.tpm != null) this.deps.limits.settle(key.id, admission.reservedTokens, usedTokens);
  }

  usage(caller: GatewayCaller, source: 'gateway' | 'batch' = 'gateway'): GatewayUsage {
    return new GatewayUsage(caller.appId, source, caller.key?.id ?? null, caller.requestId);
  }

  /** A non-streaming chat completion through the router (the caller was admitted); from the key's answer cache when it opted in. */
  async complete(caller: GatewayCaller, chat: ChatBody, admission: Admission, options: CallOptions = {}): Promise<Answer> {
    // A guardrails screen makes the answer depend on more than the request (masked values put back): never cached.
    const ttl = this.deps.cache && caller.key && !admission.screen ? cacheTtlMs(caller.key, chat.request) : 0;
    if (ttl === 0) return this.completeUncached(caller, chat, admission, options);
    const cacheKey = this.deps.cache!.keyOf(caller.key!.id, chat.request);
    const hit = this.deps.cache!.get(cacheKey);
    if (hit) {
      this.settle(caller, admission, 0);
      admission.headers['x-warbler-cache'] = 'hit';
      this.deps.ledger?.append(cacheHitRow({
        appId: caller.appId, keyId: caller.key!.id, requestId: caller.requestId, source: options.source ?? 'gateway',
        model: chat.request.model, deployment: hit.deployment, now: this.now(),
      }));
      return { body: hit.body, deployment: hit.deployment, upstreamMs: 0 };
    }
    const answer = await this.completeUncached(caller, chat, admission, options);
    admission.headers['x-warbler-cache'] = 'miss';
    this.deps.cache!.set(cacheKey, answer, ttl);
    return answer;
  }

  private async completeUncached(caller: GatewayCaller, chat: ChatBody, admission: Admission, options: CallOptions): Promise<Answer> {
    const context = this.usage(caller, options.source);
    const t0 = performance.now();
    let completion: ChatCompletion;
    try {
      completion = await this.deps.models.complete(chat.request, { context, ...(options.stop ? { stop: options.stop } : options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      this.settle(caller, admission, 0);
      throw err;
    }
    this.settle(caller, admission, completion.usage.totalTokens);
    // Judged as the model wrote it (masked values still masked: personal data does not go to the moderation model).
    // Asked only when the policy moderates answers: reading options.signal makes a /v1 call's AbortSignal.
    const flagged = admission.screen?.moderatesOutput ? await admission.screen.moderateOutput(completion.text, options.signal) : undefined;
    const upstreamMs = performance.now() - t0;
    if (!flagged && (options.source ?? 'gateway') === 'gateway' && this.observing(caller, chat.request.model)) {
      this.deps.observe!({
        appId: caller.appId, keyId: caller.key?.id ?? null, requestId: caller.requestId, request: chat.request,
        answer: completion.text, usage: completion.usage, model: completion.model || chat.request.model, ttftMs: null, latencyMs: Math.round(upstreamMs),
      });
    }
    // Upstream's own text goes out when nothing here changes its body, or when the masked values go back into it in
    // place (sparing a serialisation of the whole body); a withheld reply is a new body, serialised.
    let text = completion.rawText;
    if (flagged) {
      withheldReply(completion, flagged);
      text = undefined;
    } else if (admission.screen?.restoresReply && restoreReply(completion, admission.screen) && text !== undefined) {
      // The body gets them back too: the Responses API and the cache read it.
      text = admission.screen.restoreJson(text);
    }
    const raw = completion.raw as Record<string, unknown> | undefined;
    if (raw && typeof raw === 'object') {
      return { body: raw, ...(text !== undefined && { text }), deployment: context.deployment, upstreamMs };
    }
    return { body: completionBody(completion, chat.request.model, completionId()), deployment: context.deployment, upstreamMs };
  }

  /**
   * Opens a streamed chat completion: resolves once the first content is ready
   * (the router has retried and fallen back as needed by then), or throws the
   * OpenAiError of a call that failed before any output.
   */
  async openStream(caller: GatewayCaller, chat: ChatBody, admission: Admission, signal?: AbortSignal): Promise<OpenedStream> {
    const context = this.usage(caller);
    const upstreamStart = performance.now();
    const screen = admission.screen;
    const raw = this.deps.models.chat(chat.request, { context, ...(signal ? { signal } : {}) });
    // Output moderation judges the text as the model wrote it (before masked values are put back), at the end (decision 0022).
    const moderated = screen?.moderatesOutput ? moderatedStream(raw, screen, signal) : raw;
    const upstream = this.observing(caller, chat.request.model) ? observedStream(moderated, caller, chat.request, upstreamStart, this.deps.observe!) : moderated;
    const parts = this.settled(caller, admission, screen?.restoresReply ? restoredStream(upstream, screen) : upstream);
    const first = await parts.next();
    if (first.done) throw new OpenAiError(502, 'The upstream stream ended before it began.', 'server_error', 'upstream_cut_stream');
    const part = first.value;
    if (part.type === 'error') {
      await parts.return(undefined);
      throw toOpenAiError(part.error);
    }
    const deployment = part.type === 'start' ? part.deployment : '';
    return { deployment, model: part.type === 'start' ? part.upstreamModel : chat.request.model, upstreamStart, parts, first: part };
  }

  /** Embeddings through the router (the caller was admitted). */
  async embed(caller: GatewayCaller, body: EmbeddingsBody, admission: Admission, options: CallOptions = {}): Promise<Answer> {
    const context = this.usage(caller, options.source);
    const t0 = performance.now();
    let result: EmbedResult;
    try {
      result = await this.deps.models.embed(
        { model: body.model, input: body.input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) },
        { context, ...(options.signal ? { signal: options.signal } : {}) },
      );
    } catch (err) {
      this.settle(caller, admission, 0);
      throw err;
    }
    const upstreamMs = performance.now() - t0;
    this.settle(caller, admission, result.usage.totalTokens);
    const data = new Array(result.vectors.length);
    for (let i = 0; i < data.length; i++) {
      const v = result.vectors[i]!;
      data[i] = { object: 'embedding', index: i, embedding: body.base64 ? embeddingBase64(v) : v };
    }
    return {
      body: { object: 'list', data, model: result.model || body.model, usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens } },
      deployment: context.deployment,
      upstreamMs,
    };
  }

  /**
   * One chat-completions or embeddings body, start to end, for a caller:
   * validation, model and key checks, budget, RPM/TPM, the router call,
   * metering. Never throws: failures come back as OpenAI error bodies with
   * their status. Streaming is not offered here (`stream` is ignored).
   */
  async runCompletion(caller: GatewayCaller, body: unknown, options: CallOptions & { endpoint?: CompletionEndpoint } = {}): Promise<CompletionResult> {
    try {
      if ((options.endpoint ?? '/v1/chat/completions') === '/v1/embeddings') {
        const parsed = parseEmbeddingsBody(body);
        const admission = await this.admit(caller, parsed.model, () => countEmbeddingTokens(parsed.input));
        const answer = await this.embed(caller, parsed, admission, options);
        return { ok: true, status: 200, body: answer.body, deployment: answer.deployment };
      }
      const plain = typeof body === 'object' && body !== null && (body as Record<string, unknown>).stream !== undefined
        ? withoutStreaming(body as Record<string, unknown>)
        : body;
      const chat = parseChatBody(plain);
      const admission = await this.admit(caller, chat.request.model, () => countPrompt(chat.request), () => quickPromptTokens(chat.request), chat.request, options.source);
      const answer = await this.complete(caller, chat, admission, options);
      return { ok: true, status: 200, body: answer.body, deployment: answer.deployment };
    } catch (err) {
      const e = toOpenAiError(err);
      return { ok: false, status: e.status, body: e.toJSON() };
    }
  }

  private observing(caller: GatewayCaller, model: string): boolean {
    return this.deps.observe !== undefined && (this.deps.observes?.(caller.appId, model) ?? true);
  }

  /** Wraps a router stream so the key's token bucket is settled however the stream ends. */
  private async *settled(caller: GatewayCaller, admission: Admission, parts: AsyncIterable<ChatStreamPart>): AsyncGenerator<ChatStreamPart> {
    let used = 0;
    try {
      for await (const part of parts) {
        if (part.type === 'finish') used = part.usage.totalTokens;
        else if (part.type === 'error' && part.usage) used = part.usage.totalTokens;
        yield part;
      }
    } finally {
      this.settle(caller, admission, used);
    }
  }
}

/**
 * Tokens to reserve from a key's TPM bucket for a prompt. While the prompt is
 * a small share of the limit, a quick upper estimate from its size is
 * enough: settle() charges what upstream reports once the call ends, so the
 * bucket is exact afterwards either way. Near the limit, and for the "request
 * too large" answer, the exact o200k count decides. This spares tokenizing
 * every prompt on the request path (docs/benchmarks.md: the gain measured
 * was within run-to-run noise on the test VM).
 */
export function promptReservation(tpm: number, exact: () => number, quick?: () => number): number {
  if (quick) {
    const estimate = quick();
    if (estimate * 10 <= tpm) return estimate;
  }
  return exact();
}

/**
 * Output tokens to reserve from a key's TPM bucket: what the request may
 * produce (max_tokens), or the default reservation when it does not say. A
 * request that does not bound its output is never refused for the default
 * alone: it reserves at most what the rest of the minute's allowance holds,
 * and a longer answer is charged when it ends (docs/costs.md).
 */
export function outputReservation(tpm: number, prompt: number, request: Pick<ChatRequest, 'max_tokens' | 'max_completion_tokens'>): number {
  const expected = expectedOutputTokens(request);
  return asksForOutput(request) ? expected : Math.min(expected, Math.max(0, tpm - prompt));
}

export function countPrompt(request: ChatRequest): number {
  return countChatTokens(request.messages, request.tools);
}

export function countEmbeddingTokens(input: readonly string[]): number {
  let n = 0;
  for (const s of input) n += countTextTokens(s);
  return n;
}

/** Provider moderation of the prompt: a flagged one is a 400 content_policy_violation, before anything is reserved or sent. */
async function moderateInput(screen: PromptScreen, messages: ChatRequest['messages']): Promise<void> {
  try {
    await screen.moderateInput(messages);
  } catch (err) {
    if (err instanceof ModerationFlagged) throw new OpenAiError(400, err.message, 'invalid_request_error', 'content_policy_violation', 'messages', { 'x-should-retry': 'false' });
    throw err;
  }
}

/** Passes a stream through and, when it finished well, tells `observe` what it said (the text as the model wrote it). */
async function* observedStream(
  parts: AsyncIterable<ChatStreamPart>, caller: GatewayCaller, request: ChatRequest, started: number, observe: (turn: GatewayTurn) => void,
): AsyncGenerator<ChatStreamPart> {
  let answer = '';
  let model = request.model;
  let ttft: number | null = null;
  for await (const part of parts) {
    if (part.type === 'start') model = part.model;
    else if (part.type === 'text-delta') {
      ttft ??= Math.round(performance.now() - started);
      answer += part.text;
    } else if (part.type === 'finish') {
      observe({
        appId: caller.appId, keyId: caller.key?.id ?? null, requestId: caller.requestId, request, answer, usage: part.usage, model,
        ttftMs: ttft, latencyMs: Math.round(performance.now() - started),
      });
    }
    yield part;
  }
}

/**
 * Masked values put back into a finished reply: its text, and the upstream
 * body relayed as it is. Whether the body changed (when not, upstream's own
 * text can go out as it came).
 */
function restoreReply(completion: ChatCompletion, screen: PromptScreen): boolean {
  const text = completion.text;
  const restored = screen.restore(text);
  completion.text = restored;
  let changed = false;
  const choices = (completion.raw as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices)) return changed;
  for (const choice of choices) {
    const message = (choice as { message?: { content?: unknown; tool_calls?: unknown } } | null)?.message;
    // The first choice's content is usually the text itself: restored once.
    if (typeof message?.content === 'string') {
      const content = message.content === text ? restored : screen.restore(message.content);
      if (content !== message.content) {
        message.content = content;
        changed = true;
      }
    }
    if (Array.isArray(message?.tool_calls)) {
      for (const call of message.tool_calls as Array<{ function?: { arguments?: unknown } }>) {
        if (typeof call.function?.arguments !== 'string') continue;
        const args = screen.restore(call.function.arguments);
        if (args !== call.function.arguments) {
          call.function.arguments = args;
          changed = true;
        }
      }
    }
  }
  return changed;
}

/** A streamed reply with masked values put back; a placeholder split across deltas is held until it is whole. */
async function* restoredStream(parts: AsyncIterable<ChatStreamPart>, screen: PromptScreen): AsyncGenerator<ChatStreamPart> {
  const text = screen.restorer();
  for await (const part of parts) {
    if (part.type === 'text-delta') {
      const out = text.push(part.text);
      if (out) yield { type: 'text-delta', text: out };
      continue;
    }
    if (part.type === 'finish' || part.type === 'error' || part.type === 'tool-call-delta') {
      const rest = text.flush();
      if (rest) yield { type: 'text-delta', text: rest };
    }
    yield part;
  }
  // A stream that stopped without finish or error (the caller stopped reading) has nothing more to say.
}

function withoutStreaming(body: Record<string, unknown>): Record<string, unknown> {
  const { stream: _stream, stream_options: _options, ...rest } = body;
  return rest;
}

function limitError(
  key: ApiKeyRow,
  kind: 'requests' | 'tokens',
  reserved: { prompt: number; completion: number },
  retryAfterMs: number,
  tooLarge: boolean,
  headers: Record<string, string>,
): OpenAiError {
  const out = { ...headers, 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  if (tooLarge) return tooLargeError(key.tpm!, reserved, { ...out, 'x-should-retry': 'false' });
  const message =
    kind === 'requests'
      ? `Rate limit reached for this key: ${key.rpm} requests per minute. Try again in ${formatWait(retryAfterMs)}.`
      : `Rate limit reached for this key: ${key.tpm} tokens per minute. Try again in ${formatWait(retryAfterMs)}.`;
  return new OpenAiError(429, message, kind, 'rate_limit_exceeded', null, out);
}

/** What OpenAI answers a request that cannot fit the limit whatever the wait: 429, not worth retrying as it is. */
function tooLargeError(tpm: number, { prompt, completion }: { prompt: number; completion: number }, headers: Record<string, string>): OpenAiError {
  const room = tpm - prompt;
  const message =
    completion > 0 && room > 0
      ? `Request too large: about ${prompt} prompt tokens plus up to ${completion} output tokens (max_tokens) is ${prompt + completion}, ` +
        `but this key's limit is ${tpm} tokens per minute. Lower max_tokens to ${room} or less, send a shorter prompt, or ask an operator to raise the key's TPM.`
      : `Request too large: about ${prompt} prompt tokens, but this key's limit is ${tpm} tokens per minute. Send less, or ask an operator to raise the key's TPM.`;
  return new OpenAiError(429, message, 'tokens', 'rate_limit_exceeded', completion > 0 && room > 0 ? 'max_tokens' : null, headers);
}

/** A key over its running-calls cap: retrying shortly works once one of its calls ends (the OpenAI SDKs do it for you). */
function tooManyRunning(max: number): OpenAiError {
  return new OpenAiError(
    429,
    `Too many requests running at once on this key: at most ${max} run at the same time, and this one waited ${TURN_WAIT_MS / 1000} s for a turn. ` +
      'Wait for your other requests to finish before starting more, or ask the operator to raise WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY.',
    'requests',
    'rate_limit_exceeded',
    null,
    { 'retry-after-ms': '250', 'retry-after': '1' },
  );
}

function formatWait(ms: number): string {
  return ms < 1000 ? `${Math.ceil(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
