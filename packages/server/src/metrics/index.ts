// The metrics room: Prometheus metrics of the whole server, served at
// GET /metrics. Each Warbler has its own registry, so several in one process
// (tests) never mix their numbers. Label children are cached: resolving a
// label set in prom-client hashes it every time, and the request hook runs
// on every request of a path benchmarked at 1,000 requests/s.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LedgerRow } from '../store/index.ts';

type Child = { inc(value?: number): void };
type Observer = { observe(value: number): void };

/** Ledger rows with the same labels, added up until prom-client's counters are read. */
interface PendingRows {
  source: string;
  model: string;
  outcome: string;
  currency: string;
  deployment: string;
  rows: number;
  prompt: number;
  cached: number;
  completion: number;
  reasoning: number;
  costNanos: bigint;
}

// Seconds. The gateway's own time is a millisecond or two; a model call is seconds.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1];

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
  /** Open WebSocket sessions of the chat server, read at scrape time. */
  openSockets?: () => number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'route'>;
  private readonly overhead: Histogram<'route'>;
  private readonly tokens: Counter<'model' | 'type'>;
  private readonly cost: Counter<'model' | 'currency'>;
  private readonly attempts: Counter<'source' | 'model' | 'outcome'>;
  private readonly upstreamErrors: Counter<'deployment' | 'outcome'>;
  private readonly guardrails: Counter<'rule' | 'action' | 'path'>;
  private readonly counters = new Map<string, Child>();
  private readonly observers = new Map<string, Observer>();
  /** Ledger rows counted here and not yet handed to prom-client (see ledgerRow). */
  private pendingRows = new Map<string, PendingRows>();
  /** Guardrail interventions counted here and not yet handed to prom-client, by rule, action and path (as ledger rows). */
  private readonly pendingGuardrails = new Map<string, { labels: { rule: string; action: string; path: string }; count: number }>();
  private openSockets: (() => number) | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.contentType = this.registry.contentType;
    this.openSockets = options.openSockets;
    this.requests = new Counter({ name: 'warbler_http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({ name: 'warbler_http_request_duration_seconds', help: 'Time from request to the end of the response (whole stream for SSE)', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.overhead = new Histogram({
      name: 'warbler_gateway_overhead_seconds',
      help: 'Time a /v1 request spent in Warbler itself, upstream excluded (for streams: until the first byte)',
      labelNames: ['route'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    const self = this;
    // The ledger's counters are brought up to date whenever one of them is read (a scrape, a test).
    const collect = () => self.flushRows();
    this.tokens = new Counter({ name: 'warbler_llm_tokens_total', help: 'Tokens of model calls (ledger rows), by the model asked for and type: prompt, cached, completion, reasoning', labelNames: ['model', 'type'], registers, collect });
    this.cost = new Counter({ name: 'warbler_llm_cost_total', help: 'Cost of model calls in the currency the provider bills in', labelNames: ['model', 'currency'], registers, collect });
    this.attempts = new Counter({ name: 'warbler_llm_attempts_total', help: 'Model call attempts (ledger rows) by source, model and outcome', labelNames: ['source', 'model', 'outcome'], registers, collect });
    this.upstreamErrors = new Counter({ name: 'warbler_upstream_errors_total', help: 'Failed model call attempts by deployment and outcome (rate_limited, error, timeout, cut, ...)', labelNames: ['deployment', 'outcome'], registers, collect });
    this.guardrails = new Counter({
      name: 'warbler_guardrail_interventions_total',
      help: 'Guardrail interventions by rule (words:<list>, pii:<kind>, injection:<rule>), action (block, mask, flag, strip) and path (v1, batch, agent)',
      labelNames: ['rule', 'action', 'path'],
      registers,
      collect() {
        for (const p of self.pendingGuardrails.values()) if (p.count > 0) {
          this.inc(p.labels, p.count);
          p.count = 0;
        }
      },
    });
    new Gauge({
      name: 'warbler_open_sockets',
      help: 'Open WebSocket sessions of the chat server',
      registers,
      collect() {
        this.set(self.openSockets?.() ?? 0);
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'warbler_' });
  }

  /** Late wiring: the realtime gateway is built after the HTTP server. */
  watchSockets(openSockets: () => number): void {
    this.openSockets = openSockets;
  }

  /** One answered HTTP request. `route` is the route template (never the raw URL: its ids would explode the label set). */
  request(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let c = this.counters.get(key);
    if (!c) {
      c = this.requests.labels(method, route, String(status));
      this.counters.set(key, c);
    }
    c.inc();
    this.histogram(this.duration, 'd', route).observe(seconds);
  }

  gatewayOverhead(route: string, seconds: number): void {
    this.histogram(this.overhead, 'o', route).observe(seconds);
  }

  /**
   * Every ledger row: tokens, cost and upstream failures. Subscribe it to the
   * Ledger. Rows are added up here, by the labels they share, and handed to
   * prom-client when its counters are read: six label lookups and increments
   * per row were ~1 % of a /v1 request's CPU.
   */
  readonly ledgerRow = (row: LedgerRow): void => {
    const key = `${row.source}\0${row.model}\0${row.outcome}\0${row.currency}\0${row.deployment ?? 'none'}`;
    let p = this.pendingRows.get(key);
    if (!p) {
      p = { source: row.source, model: row.model, outcome: row.outcome, currency: row.currency, deployment: row.deployment ?? 'none', rows: 0, prompt: 0, cached: 0, completion: 0, reasoning: 0, costNanos: 0n };
      this.pendingRows.set(key, p);
    }
    p.rows += 1;
    p.prompt += row.prompt_tokens;
    p.cached += row.cached_tokens;
    p.completion += row.completion_tokens;
    p.reasoning += row.reasoning_tokens;
    p.costNanos += row.cost_nanos;
  };

  private flushRows(): void {
    if (this.pendingRows.size === 0) return;
    const rows = this.pendingRows;
    this.pendingRows = new Map();
    for (const p of rows.values()) {
      const model = p.model;
      if (p.prompt) this.tokens.labels(model, 'prompt').inc(p.prompt);
      if (p.cached) this.tokens.labels(model, 'cached').inc(p.cached);
      if (p.completion) this.tokens.labels(model, 'completion').inc(p.completion);
      if (p.reasoning) this.tokens.labels(model, 'reasoning').inc(p.reasoning);
      if (p.costNanos !== 0n) this.cost.labels(model, p.currency).inc(Number(p.costNanos) / 1e9);
      this.attempts.labels(p.source, model, p.outcome).inc(p.rows);
      // A client stopping is not an upstream failure.
      if (p.outcome !== 'ok' && p.outcome !== 'stopped') this.upstreamErrors.labels(p.deployment, p.outcome).inc(p.rows);
    }
  }

  /** A guardrail that fired, `count` times in one call. Rules are the operator's list names and fixed kinds: a bounded label set. */
  guardrail(rule: string, action: string, path: string, count = 1): void {
    // Added up here and handed over when the counter is read: with guardrails on, most calls count two or more.
    const key = `${rule}\0${action}\0${path}`;
    const p = this.pendingGuardrails.get(key);
    if (p) p.count += count;
    else this.pendingGuardrails.set(key, { labels: { rule, action, path }, count });
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private histogram(h: Histogram<'route'>, tag: string, route: string): Observer {
    const key = `${tag}${route}`;
    let o = this.observers.get(key);
    if (!o) {
      o = h.labels(route);
      this.observers.set(key, o);
    }
    return o;
  }
}
