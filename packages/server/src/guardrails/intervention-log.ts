// Every guardrail intervention, kept for the console: buffered in memory and
// written in batches (with guardrails on, every call of a busy key can be
// one), removed after the retention period.
import { newOrderedId } from '../ids.ts';
import { loggedIntervention, type InterventionNotes } from './intervention-notes.ts';
import type { InterventionFilter, InterventionRow, InterventionStore } from './intervention-store.ts';
import type { Intervention } from './screen.ts';

const FLUSH_MS = 1000;
const FLUSH_ROWS = 500;
/** Past this many rows waiting (a store that is down), new ones are dropped and counted rather than held without end. */
const MAX_PENDING = 20_000;
const PRUNE_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface InterventionLogDeps {
  store: InterventionStore;
  retentionDays: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
}

export class InterventionLog {
  private pending: InterventionRow[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private dropped = 0;

  constructor(private readonly deps: InterventionLogDeps) {}

  /** Takes one intervention; written within a second (or sooner, by the batch). */
  record(i: Intervention): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    const at = this.now();
    this.pending.push({
      app_id: i.app_id, id: newOrderedId('grd', at), at, path: i.path, who: i.who, rule: i.rule, action: i.action,
      policy: i.policy, count: i.count, word: i.word ?? null, excerpt: i.excerpt ?? null,
    });
    if (this.pending.length >= FLUSH_ROWS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS).unref();
  }

  /** Writes what is waiting; a failed batch is kept for the next try. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.deps.store.insert(batch).then(
      () => {
        if (this.dropped > 0) {
          this.deps.log?.warn({ dropped: this.dropped }, 'guardrail interventions were not stored while the database was unavailable (still logged and counted)');
          this.dropped = 0;
        }
      },
      (err: unknown) => {
        this.deps.log?.error({ err, rows: batch.length }, 'guardrail interventions could not be stored; retrying');
        this.pending = batch.concat(this.pending).slice(0, MAX_PENDING);
        this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS * 5).unref();
      },
    ).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Newest first; waiting rows are written first, so a list right after a call shows it. */
  async list(appId: string, filter: InterventionFilter): Promise<InterventionRow[]> {
    await this.flush();
    return this.deps.store.list(appId, filter);
  }

  rules(appId: string): Promise<string[]> {
    return this.deps.store.rules(appId);
  }

  /** Removes rows past the retention period, in batches; returns how many. */
  async prune(): Promise<number> {
    const before = this.now() - this.deps.retentionDays * DAY_MS;
    let total = 0;
    for (;;) {
      const n = await this.deps.store.prune(before, 1000);
      total += n;
      if (n < 1000) return total;
    }
  }

  start(): void {
    const run = () => void this.prune().catch((err: unknown) => this.deps.log?.error({ err }, 'old guardrail interventions could not be removed'));
    run();
    this.pruneTimer = setInterval(run, PRUNE_EVERY_MS).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.flush();
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }
}

export interface InterventionReporterDeps {
  /** Counts one rule's occurrences in /metrics (warbler_guardrail_interventions_total). */
  count(rule: string, action: string, path: string, n: number): void;
  /** Keeps the intervention for the console (an InterventionLog). */
  record(i: Intervention): void;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Guardrails' onInterventions: each intervention counted and kept, and told
 * in the log once per screening step (a prompt's two masked values are one
 * entry, not two: the log was the largest part of what guardrails cost a
 * call). A call with a log line of its own (a /v1 request's, given as
 * `notes`) carries them there; otherwise the step gets its own line, at warn
 * when something was blocked. The line carries the call's scope once and each
 * rule without its excerpt (the console has it): bytes are most of a log
 * line's cost.
 */
export function interventionReporter(deps: InterventionReporterDeps): (fired: Intervention[], notes?: InterventionNotes) => void {
  return (fired, notes) => {
    for (const i of fired) {
      deps.count(i.rule, i.action, i.path, i.count);
      deps.record(i);
    }
    if (notes?.add(fired) || !deps.log) return;
    let block = false;
    let rules = '';
    for (const i of fired) {
      if (i.action === 'block') block = true;
      rules += `${rules ? ', ' : ''}${i.rule} ${i.action}`;
    }
    const { path, app_id, who, policy } = fired[0]!;
    deps.log[block ? 'warn' : 'info']({ guardrails: fired.map(loggedIntervention), path, app_id, who, policy }, `guardrail ${rules} on ${path}`);
  };
}
