// Sends the outbox, at least once per row. Each node polls for due rows and
// claims each one with a conditional UPDATE (a lease on the row, as the leases
// table does for batches), so of several nodes one sends a row at a time; a
// node that dies mid-attempt leaves a claim that runs out, and another node
// (or this one, restarted) sends the row again. Slots are bounded overall and
// per endpoint, and an endpoint at its bound is left out of the query, so a
// slow receiver holds its own slots and nobody else's.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { WEBHOOK_HEADERS } from '@warbler/protocol';
import { OutboundRefused, type Outbound } from '../outbound/index.ts';
import { nextAttemptAt } from './retry-schedule.ts';
import { signatureHeader } from './signature.ts';
import type { WebhookEndpoints } from './endpoints.ts';
import type { AttemptOutcome, DeliveryRow, WebhookStore } from './webhook-store.ts';

export interface DelivererSettings {
  /** Delays before the 2nd, 3rd, … attempt; past the last one a delivery fails. */
  retryScheduleMs: readonly number[];
  /** One attempt's limit, connection to the last byte read. */
  attemptTimeoutMs: number;
  /** Attempts in flight on this node, overall and per endpoint. */
  concurrency: number;
  concurrencyPerEndpoint: number;
  /** How often the outbox is looked at for due rows (rows written on this node start at once). */
  pollMs: number;
  /** Finished deliveries are kept this long for the log, then deleted. */
  retentionMs: number;
}

export interface DelivererLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** The first bytes of a receiver's answer kept in the log. */
export const RESPONSE_BYTES = 2048;

export class WebhookDeliverer {
  /** This node's name on its claims: host and process, so an operator can tell which node holds what. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly active = new Map<string, Promise<void>>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly stopSignal = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private stopping = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly endpoints: WebhookEndpoints,
    private readonly outbound: Outbound,
    private readonly settings: DelivererSettings,
    private readonly log: DelivererLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts polling; rows a previous run left pending (or claimed by a dead node) are sent from now on. */
  start(): void {
    this.timer = setInterval(() => this.kick(), this.settings.pollMs);
    this.timer.unref();
    this.pruneTimer = setInterval(() => void this.prune(), 3_600_000);
    this.pruneTimer.unref();
    this.kick();
  }

  /** Looks for due rows now (rows were just written, or a slot came free). */
  kick(): void {
    if (this.stopping) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = this.pass()
      .catch((err: unknown) => this.log.error({ err }, 'webhooks: could not read the outbox'))
      .finally(() => {
        this.passing = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Stops taking rows, lets attempts in flight finish for up to `graceMs`
   * (an acknowledged delivery is recorded as such, never sent again), then
   * aborts the rest and gives their rows back untouched.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    await this.passing;
    const all = Promise.all(this.active.values());
    const cutoff = setTimeout(() => this.stopSignal.abort(), graceMs);
    await all;
    clearTimeout(cutoff);
  }

  private async pass(): Promise<void> {
    for (;;) {
      const free = this.settings.concurrency - this.active.size;
      if (free <= 0 || this.stopping) return;
      const full = [...this.perEndpoint].filter(([, n]) => n >= this.settings.concurrencyPerEndpoint).map(([id]) => id);
      const now = this.now();
      const rows = await this.store.due(now, free, full);
      let started = 0;
      for (const row of rows) {
        if (this.active.size >= this.settings.concurrency || this.stopping) return;
        if ((this.perEndpoint.get(row.endpoint_id) ?? 0) >= this.settings.concurrencyPerEndpoint || this.active.has(row.id)) continue;
        if (!(await this.store.claim(row.id, this.owner, now, now + this.settings.attemptTimeoutMs + 30_000))) continue;
        this.launch(row);
        started++;
      }
      // A full page may hide more due rows; an empty or short one means the outbox is drained for now.
      if (started === 0 || rows.length < free) return;
    }
  }

  private launch(row: DeliveryRow): void {
    this.perEndpoint.set(row.endpoint_id, (this.perEndpoint.get(row.endpoint_id) ?? 0) + 1);
    const run = this.attempt(row)
      .catch((err: unknown) => this.log.error({ err, delivery: row.id }, 'webhooks: an attempt could not be recorded'))
      .finally(() => {
        this.active.delete(row.id);
        const n = (this.perEndpoint.get(row.endpoint_id) ?? 1) - 1;
        if (n > 0) this.perEndpoint.set(row.endpoint_id, n);
        else this.perEndpoint.delete(row.endpoint_id);
        this.kick();
      });
    this.active.set(row.id, run);
  }

  private async attempt(row: DeliveryRow): Promise<void> {
    // The app's endpoints as the outbox last read them (changes on this node apply at once, elsewhere within seconds).
    const endpoint = await this.endpoints.cached(row.app_id, row.endpoint_id);
    // Deleted meanwhile (its rows go with it) or disabled: the row waits, unclaimed, for the endpoint to be enabled again.
    if (!endpoint || (endpoint.enabled !== 1 && row.event_type !== 'webhook.test')) return this.store.release(row.id, this.owner);
    const started = this.now();
    const timestamp = Math.floor(started / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Warbler-Webhooks/1',
      [WEBHOOK_HEADERS.id]: row.event_id,
      [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      [WEBHOOK_HEADERS.signature]: signatureHeader(this.endpoints.signingSecrets(endpoint, started), row.event_id, timestamp, row.body),
    };
    const timeout = AbortSignal.timeout(this.settings.attemptTimeoutMs);
    let status: number | null = null;
    let response = '';
    let error: string | null = null;
    try {
      const answer = await this.outbound.send(endpoint.url, {
        method: 'POST', headers, body: row.body, maxBytes: RESPONSE_BYTES, signal: AbortSignal.any([timeout, this.stopSignal.signal]),
      });
      status = answer.status;
      response = answer.text.slice(0, RESPONSE_BYTES);
      if (status < 200 || status > 299) error = `the receiver answered ${status}; only a 2xx counts as delivered`;
    } catch (err) {
      // Stopping, not failing: the row goes back as it was and is sent after the restart (or by another node).
      if (this.stopSignal.signal.aborted && !timeout.aborted) return this.store.release(row.id, this.owner);
      error = describeFailure(err, timeout.aborted, this.settings.attemptTimeoutMs);
    }
    const finished = this.now();
    const attempt = row.attempts + 1;
    const outcome: AttemptOutcome =
      error === null ? { status: 'delivered', at: finished } : outcomeAfterFailure(this.settings.retryScheduleMs, attempt, finished);
    const recorded = await this.store.finishAttempt(row.id, this.owner, {
      delivery_id: row.id, attempt, app_id: row.app_id, at: started, status_code: status, latency_ms: Math.max(0, finished - started), response, error,
    }, outcome);
    if (!recorded) this.log.warn({ delivery: row.id }, 'webhooks: another node took this delivery over while it was being sent (its claim ran out)');
    else if (outcome.status === 'failed') this.log.warn({ delivery: row.id, endpoint: row.endpoint_id, error }, 'webhooks: a delivery failed for good');
  }

  private async prune(): Promise<void> {
    try {
      while ((await this.store.prune(this.now() - this.settings.retentionMs, 500)) === 500 && !this.stopping);
    } catch (err) {
      this.log.error({ err }, 'webhooks: could not delete old deliveries');
    }
  }
}

function outcomeAfterFailure(schedule: readonly number[], attempt: number, now: number): AttemptOutcome {
  const next = nextAttemptAt(schedule, attempt, now);
  return next === undefined ? { status: 'failed' } : { status: 'pending', next_attempt_at: next };
}

/** What the log says about an attempt that got no answer: refused by policy, timed out, or the connection's own error. */
function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms (the attempt's time limit)`;
  if (err instanceof OutboundRefused) return `refused by the outbound policy: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('it redirected more than')) return 'the receiver answered with a redirect; webhooks do not follow redirects: give the final URL';
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (cause instanceof OutboundRefused) return `refused by the outbound policy: ${cause.message}`;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${code}: ${cause?.message ?? message}` : message;
}
