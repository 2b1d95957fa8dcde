// The Router turns a model name into a call that survives a bad upstream:
// retries with backoff and full jitter (honouring Retry-After), other
// deployments of the same model, then fallback models; a per-attempt timeout
// to the first token, an overall deadline, and a circuit breaker per
// deployment. Retries happen only before the caller has seen any output:
// after the first token a failure ends the stream with an error part, since
// replaying would duplicate text the user already read.
//
// The breaker skips a failing deployment only while something else can serve
// the call: when every deployment of the model and of its fallbacks is open,
// the call still goes, once, to the one that failed longest ago (the last
// resort). Envoy's panic threshold and LiteLLM's single-deployment rule do
// the same: a breaker that shuts the last way to a model lets one tenant whose
// prompts make upstream fail deny the model to every other tenant.
//
// Every attempt, failed ones included, is reported through `onAttempt` so the
// ledger can record it.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { abortError, linkAbort, type LinkedAbort, type StopSignal } from './abort.ts';
import { CircuitBreaker, type CircuitChange, type CircuitOptions, type CircuitState, type CircuitTicket } from './circuit.ts';
import { asLlmError, LlmError } from './errors.ts';
import { rerankTokens, searchesFor, type BilledUnits, type Reranking, type RerankRequest, type Speech, type SpeechRequest, type TranscribeRequest, type Transcription } from './media.ts';
import { estimateUsage, type OutputSoFar } from './tokens.ts';
import type {
  CallOptions,
  ChatCompletion,
  ChatRequest,
  ChatStreamPart,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  LlmProvider,
  ToolCall,
  Usage,
} from './types.ts';

export interface Deployment {
  /** Unique; names the deployment in the ledger, metrics and response headers, e.g. "openai/gpt-4o-mini". */
  id: string;
  provider: LlmProvider;
  /** The model name upstream knows. */
  model: string;
}

export interface Route {
  /** The name callers ask for: a real model name or an alias. */
  model: string;
  /** Tried in order of health; more than one spreads retries over them. */
  deployments: Deployment[];
  /** Other routes tried in order once this one's deployments and retries are spent. */
  fallbacks?: string[];
}

export interface RetryOptions {
  /** Retries per route after the first attempt. Default 2. */
  maxRetries?: number;
  /** Backoff before retry n is random in [0, min(maxDelayMs, baseDelayMs × 2^(n-1))]. Default 250. */
  baseDelayMs?: number;
  /** Default 8000. */
  maxDelayMs?: number;
}

export interface RouterOptions {
  routes: Route[];
  retry?: RetryOptions;
  /** Time to the first token of a stream, or to the whole answer of complete()/embed(). Default 30 s. */
  attemptTimeoutMs?: number;
  /** Longest silence between two parts once a stream has started; unset: no limit but the deadline. */
  idleTimeoutMs?: number;
  /** The whole call, retries and streaming included. Default 10 minutes. */
  deadlineMs?: number;
  circuit?: CircuitOptions;
  onAttempt?: (report: AttemptReport) => void;
  /** Called as each attempt is sent, before any answer: the ledger writes its in-flight row here, so a crash cannot lose the call. */
  onAttemptStart?: (start: AttemptStart) => void;
  /** A deployment's circuit opened or closed on this node: other nodes apply it (applyCircuitChange). */
  onCircuitChange?: (deploymentId: string, change: CircuitChange) => void;
  /** For tests: a fixed jitter. */
  random?: () => number;
}

export interface RouterCallOptions extends CallOptions {
  deadlineMs?: number;
  attemptTimeoutMs?: number;
  /** Handed to onAttempt untouched: who is calling (app, agent, key, conversation). */
  context?: unknown;
}

export type AttemptOutcome = 'success' | 'failure' | 'aborted';

export interface AttemptReport {
  callId: string;
  operation: 'chat' | 'complete' | 'embed' | 'transcribe' | 'speech' | 'rerank';
  /** What the caller asked for. */
  requestedModel: string;
  /** The route whose deployment ran (differs from requestedModel on fallback). */
  model: string;
  deployment: string;
  provider: string;
  upstreamModel: string;
  /** 1-based, counting every attempt of the call. */
  attempt: number;
  outcome: AttemptOutcome;
  error?: LlmError;
  /** From upstream, or estimated (flagged) when output reached the caller but usage did not; absent when unknown. */
  usage?: Usage;
  /** Seconds, characters or searches, for calls priced in those (audio, rerank); tokens go in `usage`. */
  units?: BilledUnits;
  finishReason?: FinishReason;
  /** Whether this attempt's output reached the caller; at most one attempt per call does. */
  committed: boolean;
  startedAt: number;
  latencyMs: number;
  ttftMs?: number;
  context?: unknown;
}

/** An attempt as it is sent: who asked for what, and where it goes. onAttempt reports the same callId and attempt when it ends. */
export type AttemptStart = Pick<AttemptReport, 'callId' | 'operation' | 'requestedModel' | 'model' | 'deployment' | 'provider' | 'upstreamModel' | 'attempt' | 'startedAt' | 'context'> & {
  request: ChatRequest | EmbedRequest;
};

export interface DeploymentHealth {
  deployment: string;
  state: CircuitState;
  retryInMs: number;
  /** Set while the deployment asked us (Retry-After) to wait. */
  notBeforeMs?: number;
}

interface DeploymentState {
  circuit: CircuitBreaker;
  /** Epoch ms before which upstream asked not to be called (Retry-After). */
  notBefore: number;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: LlmError };

interface Call {
  id: string;
  operation: AttemptReport['operation'];
  requestedModel: string;
  stop: CallStop;
  deadlineAt: number;
  attemptTimeoutMs: number;
  attempts: number;
  failures: Map<string, number>;
  context: unknown;
  request: ChatRequest | EmbedRequest;
  dispose(): void;
}

interface Attempt {
  call: Call;
  route: Route;
  deployment: Deployment;
  state: DeploymentState;
  ticket: CircuitTicket;
  number: number;
  link: LinkedAbort;
  startedAt: number;
  t0: number;
}

interface OpenStream {
  attempt: Attempt;
  reader: PartReader;
  buffered: ChatStreamPart[];
  ttftMs: number;
}

// Failures that say something about the deployment's health. A bad request is
// the caller's fault, an abort is nobody's, and `internal` is ours.
const COUNTS_AGAINST_DEPLOYMENT = new Set(['rate_limited', 'server', 'timeout', 'connection', 'cut_stream', 'malformed', 'auth', 'not_found']);

const elapsed = (t0: number) => performance.now() - t0;

function sleep(ms: number, signal: StopSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * What stops a call: the caller's signal, or the call's own deadline. No
 * AbortController of its own: each attempt has one that follows the caller's
 * signal, and the deadline aborts the running attempt directly (a controller
 * and a listener per call were ~2 % of a /v1 request's CPU).
 */
class CallStop {
  private expired: LlmError | undefined;
  /** The running attempt's abort, for the deadline to reach. */
  private current: LinkedAbort | undefined;

  constructor(readonly parent: StopSignal | undefined) {}

  get aborted(): boolean {
    return this.expired !== undefined || (this.parent?.aborted ?? false);
  }

  /** Why the call stopped (the deadline's timeout first, as it is what the attempts saw); only when aborted. */
  error(): LlmError {
    return this.expired ?? abortError(this.parent!);
  }

  /** The deadline passed: the running attempt stops with `error`, and no other starts. */
  expire(error: LlmError): void {
    if (this.aborted) return;
    this.expired = error;
    this.current?.abort(error);
  }

  /** An attempt's own abort: follows the caller's signal and the deadline, and can be aborted alone (its timeout). */
  link(): LinkedAbort {
    const link = linkAbort(this.parent);
    if (this.expired) link.abort(this.expired);
    this.current = link;
    return link;
  }
}

/** it.next(), but settles as an error part as soon as the signal aborts, even if the provider ignores signals. */
const partError = (error: LlmError): IteratorResult<ChatStreamPart> => ({ done: false, value: { type: 'error', error } });

/**
 * Reads a provider's parts. An abort settles the pending read at once, even
 * if the provider ignores its signal; one abort listener serves the whole
 * stream (adding and removing one per part cost more than the rest of the relay).
 */
class PartReader {
  private settle: ((r: IteratorResult<ChatStreamPart>) => void) | undefined;
  private readonly onAbort = () => this.settle?.(partError(abortError(this.signal)));

  constructor(
    readonly it: AsyncIterator<ChatStreamPart>,
    private readonly signal: StopSignal,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  next(): Promise<IteratorResult<ChatStreamPart>> {
    if (this.signal.aborted) return Promise.resolve(partError(abortError(this.signal)));
    return new Promise((resolve) => {
      this.settle = resolve;
      this.it.next().then(
        (r) => {
          this.settle = undefined;
          resolve(r);
        },
        (err: unknown) => {
          this.settle = undefined;
          resolve(partError(asLlmError(err, 'reading the reply')));
        },
      );
    });
  }

  /** Unhooks from the signal and stops the provider's iterator. */
  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    closeIterator(this.it);
  }
}

function closeIterator(it: AsyncIterator<ChatStreamPart>): void {
  it.return?.().catch(() => {});
}

function hasOutput(o: OutputSoFar & { toolCalls: ToolCall[] }): boolean {
  return o.text.length > 0 || (o.reasoning?.length ?? 0) > 0 || o.toolCalls.length > 0;
}

export class Router implements LlmProvider {
  readonly name = 'router';
  private readonly routes = new Map<string, Route>();
  private readonly states = new Map<string, DeploymentState>();
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(private readonly options: RouterOptions) {
    this.maxRetries = options.retry?.maxRetries ?? 2;
    this.baseDelayMs = options.retry?.baseDelayMs ?? 250;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 8000;
    this.random = options.random ?? Math.random;
    for (const route of options.routes) {
      if (this.routes.has(route.model)) throw new Error(`Model "${route.model}" is routed twice.`);
      this.routes.set(route.model, route);
      for (const d of route.deployments) {
        if (this.states.has(d.id)) continue;
        const onChange = options.onCircuitChange && ((change: CircuitChange) => options.onCircuitChange!(d.id, change));
        this.states.set(d.id, { circuit: new CircuitBreaker({ ...options.circuit, ...(onChange ? { onChange } : {}) }), notBefore: 0 });
      }
    }
    for (const route of options.routes) {
      for (const f of route.fallbacks ?? []) {
        if (!this.routes.has(f)) throw new Error(`Model "${route.model}" falls back to "${f}", which has no route.`);
      }
    }
  }

  /** Closes every deployment's provider (each once, however many routes share it). */
  async close(): Promise<void> {
    const providers = new Set([...this.options.routes, ...this.runtime].flatMap((r) => r.deployments.map((d) => d.provider)));
    await Promise.all([...providers].map((p) => p.close?.()));
  }

  /** Routes added while running (providers entered in the console); they replace configured routes of the same model. */
  private runtime: Route[] = [];

  /**
   * Swaps the routes added at run time for these, without a restart: calls
   * already running keep the deployment they picked; a model no longer routed
   * at run time goes back to its configured route, if it had one. Returns the
   * providers no route uses any more, for the caller to close once idle.
   */
  replaceRuntimeRoutes(routes: readonly Route[]): LlmProvider[] {
    const configured = new Map(this.options.routes.map((r) => [r.model, r]));
    for (const r of this.runtime) {
      const base = configured.get(r.model);
      if (base) this.routes.set(r.model, base);
      else this.routes.delete(r.model);
    }
    for (const route of routes) {
      for (const f of route.fallbacks ?? []) {
        if (!this.routes.has(f) && !routes.some((r) => r.model === f)) throw new Error(`Model "${route.model}" falls back to "${f}", which has no route.`);
      }
    }
    const before = new Set(this.runtime.flatMap((r) => r.deployments.map((d) => d.provider)));
    this.runtime = [...routes];
    for (const route of routes) {
      this.routes.set(route.model, route);
      for (const d of route.deployments) {
        if (this.states.has(d.id)) continue;
        const onChange = this.options.onCircuitChange && ((change: CircuitChange) => this.options.onCircuitChange!(d.id, change));
        this.states.set(d.id, { circuit: new CircuitBreaker({ ...this.options.circuit, ...(onChange ? { onChange } : {}) }), notBefore: 0 });
      }
    }
    const still = new Set(routes.flatMap((r) => r.deployments.map((d) => d.provider)));
    return [...before].filter((p) => !still.has(p));
  }

  /** The model names callers may ask for. */
  models(): string[] {
    return [...this.routes.keys()];
  }

  /** The upstream model ids a route's deployments run (what a name stands for, for aliases). */
  upstreamModels(model: string): string[] {
    return this.routes.get(model)?.deployments.map((d) => d.model) ?? [];
  }

  /** Another node's circuit verdict on a deployment (unknown deployments, from a differently configured node, are ignored). */
  applyCircuitChange(deploymentId: string, change: CircuitChange): void {
    this.states.get(deploymentId)?.circuit.apply(change);
  }

  health(): DeploymentHealth[] {
    const now = Date.now();
    return [...this.states.entries()].map(([deployment, s]) => ({
      deployment,
      state: s.circuit.state,
      retryInMs: s.circuit.retryInMs,
      ...(s.notBefore > now ? { notBeforeMs: s.notBefore - now } : {}),
    }));
  }

  async *chat(request: ChatRequest, options: RouterCallOptions = {}): AsyncGenerator<ChatStreamPart> {
    const call = this.startCall('chat', request, options);
    try {
      const opened = await this.firstSuccess(call, (attempt) => this.openStream(attempt, request));
      if (!opened.ok) {
        yield { type: 'error', error: opened.error };
        return;
      }
      yield* this.relay(opened.value, request);
    } finally {
      call.dispose();
    }
  }

  async complete(request: ChatRequest, options: RouterCallOptions = {}): Promise<ChatCompletion> {
    const call = this.startCall('complete', request, options);
    try {
      const r = await this.firstSuccess(call, (attempt) =>
        this.once(attempt, (stop) => attempt.deployment.provider.complete({ ...request, model: attempt.deployment.model }, stop), (c) => ({
          usage: c.usage,
          finishReason: c.finishReason,
        })),
      );
      if (!r.ok) throw r.error;
      return r.value;
    } finally {
      call.dispose();
    }
  }

  async embed(request: EmbedRequest, options: RouterCallOptions = {}): Promise<EmbedResult> {
    const call = this.startCall('embed', request, options);
    try {
      const r = await this.firstSuccess(call, (attempt) =>
        this.once(attempt, (stop) => attempt.deployment.provider.embed({ ...request, model: attempt.deployment.model }, stop), (e) => ({
          usage: {
            promptTokens: e.usage.promptTokens,
            completionTokens: 0,
            totalTokens: e.usage.totalTokens,
            cachedTokens: 0,
            reasoningTokens: 0,
            estimated: e.usage.estimated,
          },
        })),
      );
      if (!r.ok) throw r.error;
      return r.value;
    } finally {
      call.dispose();
    }
  }

  /** Speech to text through the route's deployments (retries and fallbacks as for embed). */
  async transcribe(request: TranscribeRequest, options: RouterCallOptions = {}): Promise<Transcription> {
    return this.media('transcribe', request, { model: request.model, input: [] }, options, (provider) => provider.transcribe, (t) => ({ units: t.units }));
  }

  /** Text to speech through the route's deployments. */
  async speak(request: SpeechRequest, options: RouterCallOptions = {}): Promise<Speech> {
    return this.media('speech', request, { model: request.model, input: [request.input] }, options, (provider) => provider.speak, (s) => ({ units: s.units }));
  }

  /** Reranking through the route's deployments: tokens as the upstream counted them (else estimated), and searches. */
  async rerank(request: RerankRequest, options: RouterCallOptions = {}): Promise<Reranking> {
    const reserve = { model: request.model, input: [request.query, ...request.documents] };
    return this.media('rerank', request, reserve, options, (provider) => provider.rerank, (r) => ({
      usage: rerankUsage(r, request),
      units: { unit: 'search', count: r.searches ?? searchesFor(request.documents.length), estimated: r.searches === undefined },
    }));
  }

  /**
   * One non-chat call: the deployment's method of that name, or a 400 when its
   * provider has none (the operator routed a model to the wrong provider; it
   * says nothing about the deployment's health, so its circuit is untouched).
   */
  private async media<R extends { model: string }, T>(
    operation: 'transcribe' | 'speech' | 'rerank',
    request: R,
    reserve: EmbedRequest,
    options: RouterCallOptions,
    method: (provider: LlmProvider) => ((request: R, options?: CallOptions) => Promise<T>) | undefined,
    describe: (value: T) => Pick<AttemptReport, 'usage' | 'units'>,
  ): Promise<T> {
    const call = this.startCall(operation, reserve, options);
    try {
      const r = await this.firstSuccess(call, (attempt) =>
        this.once(attempt, (stop) => {
          const provider = attempt.deployment.provider;
          const run = method(provider);
          if (!run) throw new LlmError('bad_request', `The model "${request.model}" is routed to ${attempt.deployment.id}, whose provider does not offer ${operation === 'speech' ? 'text to speech' : operation === 'rerank' ? 'reranking' : 'transcription'}.`);
          return run.call(provider, { ...request, model: attempt.deployment.model }, stop);
        }, describe),
      );
      if (!r.ok) throw r.error;
      return r.value;
    } finally {
      call.dispose();
    }
  }

  private startCall(operation: Call['operation'], request: ChatRequest | EmbedRequest, options: RouterCallOptions): Call {
    const stop = new CallStop(options.stop ?? options.signal);
    const deadlineMs = options.deadlineMs ?? this.options.deadlineMs ?? 600_000;
    const timer = setTimeout(() => stop.expire(new LlmError('timeout', `No complete answer within the ${deadlineMs} ms deadline.`)), deadlineMs);
    timer.unref();
    return {
      id: randomUUID(),
      operation,
      requestedModel: request.model,
      stop,
      deadlineAt: Date.now() + deadlineMs,
      attemptTimeoutMs: options.attemptTimeoutMs ?? this.options.attemptTimeoutMs ?? 30_000,
      attempts: 0,
      failures: new Map(),
      context: options.context,
      request,
      dispose() {
        clearTimeout(timer);
      },
    };
  }

  private chainFor(model: string): Route[] {
    const route = this.routes.get(model);
    if (!route) return [];
    const chain = [route];
    for (const f of route.fallbacks ?? []) {
      const r = this.routes.get(f)!;
      if (!chain.includes(r)) chain.push(r);
    }
    return chain;
  }

  private backoffMs(retry: number): number {
    return this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
  }

  /** The healthiest usable deployment of a route: fewest failures in this call, then soonest allowed, then listed order. */
  private pick(route: Route, call: Call, skip: ReadonlySet<string>): { deployment: Deployment; state: DeploymentState } | undefined {
    let best: { deployment: Deployment; state: DeploymentState; failures: number; notBefore: number } | undefined;
    for (const deployment of route.deployments) {
      if (skip.has(deployment.id)) continue;
      const state = this.states.get(deployment.id)!;
      if (!state.circuit.canAttempt()) continue;
      const failures = call.failures.get(deployment.id) ?? 0;
      if (!best || failures < best.failures || (failures === best.failures && state.notBefore < best.notBefore)) {
        best = { deployment, state, failures, notBefore: state.notBefore };
      }
    }
    return best;
  }

  private async firstSuccess<T>(call: Call, run: (attempt: Attempt) => Promise<Result<T>>): Promise<Result<T>> {
    const chain = this.chainFor(call.requestedModel);
    if (chain.length === 0) {
      return { ok: false, error: new LlmError('not_found', `Model "${call.requestedModel}" is not configured. Configured models: ${this.models().join(', ') || 'none'}.`) };
    }
    const stop = call.stop;
    let lastError: LlmError | undefined;
    let askedToWaitMs: number | undefined;
    for (const route of chain) {
      let retries = 0;
      let backoff = 0;
      const skip = new Set<string>();
      for (;;) {
        if (stop.aborted) return { ok: false, error: stop.error() };
        const picked = this.pick(route, call, skip);
        if (!picked) break;
        const wait = Math.max(backoff, picked.state.notBefore - Date.now());
        if (wait > 0) {
          // Waiting past the deadline helps no one; a fallback may answer now.
          if (Date.now() + wait >= call.deadlineAt) {
            askedToWaitMs = Math.min(askedToWaitMs ?? Infinity, picked.state.notBefore - Date.now());
            break;
          }
          // Never past the deadline (above), so the caller's signal is all that can cut it short.
          await sleep(wait, stop.parent);
          if (stop.aborted) return { ok: false, error: stop.error() };
          backoff = 0;
          // Another call may have taken the half-open probe while we slept.
          if (!picked.state.circuit.canAttempt()) continue;
        }
        const attempt = this.attempt(call, route, picked, picked.state.circuit.begin());
        this.started(attempt);
        const result = await run(attempt);
        if (result.ok) return result;
        const error = result.error;
        lastError = error;
        // Neither a bad request nor our own failure gets better elsewhere.
        if (stop.aborted || error.kind === 'aborted' || error.kind === 'bad_request' || error.kind === 'internal') return result;
        if (error.kind === 'auth' || error.kind === 'not_found') {
          // This deployment is misconfigured; its siblings and fallbacks may not be.
          skip.add(picked.deployment.id);
          continue;
        }
        retries += 1;
        if (retries > this.maxRetries) break;
        backoff = this.backoffMs(retries);
      }
    }
    if (lastError) return { ok: false, error: lastError };
    if (askedToWaitMs !== undefined && askedToWaitMs > 0) {
      return { ok: false, error: new LlmError('rate_limited', `The provider of "${call.requestedModel}" asked us to wait; try again later.`, { retryAfterMs: askedToWaitMs }) };
    }
    // No attempt could start: the breakers shut every deployment of the chain.
    const resort = this.lastResort(chain);
    if (resort) {
      const waitMs = resort.state.notBefore - Date.now();
      if (waitMs > 0) {
        return { ok: false, error: new LlmError('rate_limited', `The provider of "${call.requestedModel}" asked us to wait; try again later.`, { retryAfterMs: waitMs }) };
      }
      const attempt = this.attempt(call, resort.route, resort, resort.state.circuit.beginAnyway());
      this.started(attempt);
      return run(attempt);
    }
    const soonest = Math.max(1000, Math.min(60_000, ...chain.flatMap((r) => r.deployments.map((d) => this.states.get(d.id)!.circuit.retryInMs))));
    return {
      ok: false,
      error: new LlmError('unavailable', `Every deployment of "${call.requestedModel}" is failing and paused; try again in ${Math.ceil(soonest / 1000)} s.`, {
        retryAfterMs: soonest,
      }),
    };
  }

  private attempt(call: Call, route: Route, picked: { deployment: Deployment; state: DeploymentState }, ticket: CircuitTicket): Attempt {
    return {
      call,
      route,
      deployment: picked.deployment,
      state: picked.state,
      ticket,
      number: ++call.attempts,
      link: call.stop.link(),
      startedAt: Date.now(),
      t0: performance.now(),
    };
  }

  /**
   * Where a call goes when the breakers shut every deployment of its chain:
   * the one whose circuit opened (or last failed) longest ago, the requested
   * model's first on a tie. One attempt, no retries: a model that is really
   * down costs each caller one try, as a half-open probe would.
   */
  private lastResort(chain: Route[]): { route: Route; deployment: Deployment; state: DeploymentState } | undefined {
    let best: { route: Route; deployment: Deployment; state: DeploymentState } | undefined;
    for (const route of chain) {
      for (const deployment of route.deployments) {
        const state = this.states.get(deployment.id)!;
        if (!best || state.circuit.retryInMs < best.state.circuit.retryInMs) best = { route, deployment, state };
      }
    }
    return best;
  }

  private started(attempt: Attempt): void {
    const hook = this.options.onAttemptStart;
    if (!hook) return;
    const { call, deployment } = attempt;
    try {
      hook({
        callId: call.id,
        operation: call.operation,
        requestedModel: call.requestedModel,
        model: attempt.route.model,
        deployment: deployment.id,
        provider: deployment.provider.name,
        upstreamModel: deployment.model,
        attempt: attempt.number,
        startedAt: attempt.startedAt,
        context: call.context,
        request: call.request,
      });
    } catch {
      // As for report(): the ledger logs its own failures, the call goes on.
    }
  }

  private report(attempt: Attempt, fields: Pick<AttemptReport, 'outcome' | 'committed'> & Partial<AttemptReport>): void {
    const hook = this.options.onAttempt;
    if (!hook) return;
    const { call, deployment } = attempt;
    try {
      hook({
        callId: call.id,
        operation: call.operation,
        requestedModel: call.requestedModel,
        model: attempt.route.model,
        deployment: deployment.id,
        provider: deployment.provider.name,
        upstreamModel: deployment.model,
        attempt: attempt.number,
        startedAt: attempt.startedAt,
        latencyMs: elapsed(attempt.t0),
        context: call.context,
        ...fields,
      });
    } catch {
      // A failing ledger hook must not break the reply; the ledger reports its own errors.
    }
  }

  /** Records a failed attempt everywhere it matters and hands the error back. */
  private failed(attempt: Attempt, error: LlmError, extra: Partial<AttemptReport> = {}): Result<never> {
    const { call, state, ticket, deployment } = attempt;
    error.deployment ??= deployment.id;
    // The call's own deadline or the caller stopping says nothing about the deployment.
    const stopped = call.stop.aborted || error.kind === 'aborted';
    if (stopped || !COUNTS_AGAINST_DEPLOYMENT.has(error.kind)) state.circuit.release(ticket);
    else state.circuit.failure(ticket);
    if (error.kind === 'rate_limited' && error.retryAfterMs !== undefined) {
      state.notBefore = Math.max(state.notBefore, Date.now() + error.retryAfterMs);
    }
    call.failures.set(deployment.id, (call.failures.get(deployment.id) ?? 0) + 1);
    this.report(attempt, { outcome: stopped ? 'aborted' : 'failure', committed: false, error, ...extra });
    return { ok: false, error };
  }

  private async once<T>(attempt: Attempt, run: (stop: CallOptions) => Promise<T>, describe: (value: T) => Pick<AttemptReport, 'usage' | 'finishReason' | 'units'>): Promise<Result<T>> {
    const { link } = attempt;
    const ms = attempt.call.attemptTimeoutMs;
    const timer = setTimeout(() => link.abort(new LlmError('timeout', `${attempt.deployment.id} did not answer within ${ms} ms.`)), ms);
    try {
      // The link itself as `stop`; its AbortSignal is made only for a provider that reads `signal`
      // (making one was ~1.3 % of a /v1 call's CPU, for the OpenAI-compatible provider that hands it to undici).
      const pending = run({ stop: link, get signal() { return link.signal; } });
      // Settle on abort even if the provider ignores its signal (one promise, not a race of two).
      const value = await new Promise<T>((resolve, reject) => {
        pending.then(resolve, reject);
        if (link.aborted) reject(abortError(link));
        else link.onAbort = () => reject(abortError(link));
      });
      attempt.state.circuit.success(attempt.ticket);
      this.report(attempt, { outcome: 'success', committed: true, ...describe(value) });
      return { ok: true, value };
    } catch (err) {
      return this.failed(attempt, asLlmError(err, 'calling the provider'));
    } finally {
      clearTimeout(timer);
      link.dispose();
    }
  }

  /** Starts a stream and holds it until its first content (or its end) arrives; nothing reaches the caller before. */
  private async openStream(attempt: Attempt, request: ChatRequest): Promise<Result<OpenStream>> {
    const { link, deployment } = attempt;
    const ms = attempt.call.attemptTimeoutMs;
    const timer = setTimeout(() => link.abort(new LlmError('timeout', `No first token from ${deployment.id} within ${ms} ms.`)), ms);
    // As in once(): the link as `stop`, an AbortSignal made only for a provider that reads `signal`.
    const reader = new PartReader(deployment.provider.chat({ ...request, model: deployment.model }, { stop: link, get signal() { return link.signal; } })[Symbol.asyncIterator](), link);
    const buffered: ChatStreamPart[] = [];
    let error: LlmError;
    for (;;) {
      const r = await reader.next();
      if (r.done) {
        error = new LlmError('cut_stream', `${deployment.id} ended the stream before sending anything.`);
        break;
      }
      const part = r.value;
      if (part.type === 'error') {
        error = part.error;
        break;
      }
      if (part.type === 'start') continue;
      buffered.push(part);
      if (part.type !== 'usage') {
        clearTimeout(timer);
        return { ok: true, value: { attempt, reader, buffered, ttftMs: elapsed(attempt.t0) } };
      }
    }
    clearTimeout(timer);
    reader.close();
    link.dispose();
    return this.failed(attempt, error);
  }

  /** Forwards a committed stream to the caller; from here on a failure is the caller's to see, not ours to retry. */
  private async *relay(open: OpenStream, request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const { attempt, reader } = open;
    const { link, deployment, state, ticket } = attempt;
    const output = { text: '', reasoning: '', toolCalls: [] as ToolCall[] };
    let outcome: AttemptOutcome = 'aborted';
    let usage: Usage | undefined;
    let finishReason: FinishReason | undefined;
    let error: LlmError | undefined;
    const idleMs = this.options.idleTimeoutMs;
    const idle =
      idleMs === undefined
        ? undefined
        : setTimeout(() => link.abort(new LlmError('timeout', `${deployment.id} went silent for ${idleMs} ms mid-reply.`)), idleMs);
    const track = (p: ChatStreamPart) => {
      if (p.type === 'text-delta') output.text += p.text;
      else if (p.type === 'reasoning-delta') output.reasoning += p.text;
      else if (p.type === 'tool-call') output.toolCalls.push({ id: p.id, name: p.name, arguments: p.arguments });
      else if (p.type === 'usage') usage = p.usage;
    };
    try {
      yield { type: 'start', model: attempt.route.model, deployment: deployment.id, upstreamModel: deployment.model, attempt: attempt.number };
      let pending = open.buffered;
      for (;;) {
        for (const part of pending) {
          track(part);
          if (part.type === 'finish') {
            outcome = 'success';
            usage = part.usage;
            finishReason = part.finishReason;
            yield part;
            return;
          }
          if (part.type === 'error') {
            error = part.error;
            error.deployment ??= deployment.id;
            outcome = error.kind === 'aborted' || attempt.call.stop.aborted ? 'aborted' : 'failure';
            usage = part.usage ?? usage ?? estimateUsage(request, output);
            yield { type: 'error', error, usage };
            return;
          }
          if (part.type !== 'start') yield part;
        }
        const r = await reader.next();
        idle?.refresh();
        pending = r.done ? [{ type: 'error', error: new LlmError('cut_stream', `${deployment.id} ended the stream before the model finished.`) }] : [r.value];
      }
    } finally {
      if (idle) clearTimeout(idle);
      if (outcome !== 'success') {
        // The caller stopped reading, or the stream failed: stop upstream generating (and billing) at once.
        link.abort(error ?? new LlmError('aborted', 'The caller stopped reading.'));
        if (!usage && hasOutput(output)) usage = estimateUsage(request, output);
      }
      reader.close();
      link.dispose();
      if (outcome === 'success') state.circuit.success(ticket);
      else if (outcome === 'failure' && error && COUNTS_AGAINST_DEPLOYMENT.has(error.kind)) state.circuit.failure(ticket);
      else state.circuit.release(ticket);
      this.report(attempt, {
        outcome,
        committed: true,
        ttftMs: open.ttftMs,
        ...(error ? { error } : {}),
        ...(usage ? { usage } : {}),
        ...(finishReason ? { finishReason } : {}),
      });
    }
  }
}

/** A rerank's tokens as its upstream counted them, or our o200k count, flagged. */
function rerankUsage(r: Reranking, request: RerankRequest): Usage {
  const tokens = r.tokens ?? rerankTokens(request);
  return { promptTokens: tokens, completionTokens: 0, totalTokens: tokens, cachedTokens: 0, reasoningTokens: 0, estimated: r.tokens === undefined };
}
