// The BatchRunner moves batches through OpenAI's states:
//
//   validating → in_progress → finalizing → completed
//        ↓            ↓  ↘ expired
//      failed     cancelling → cancelled
//
// All state is in the store, so any start of the server picks up where the
// last one stopped. Every transition is a conditional update (`fromStatuses`):
// a cancel racing the last line's finish, or two runners, never both win.
//
// A line counts as done once its result is recorded (putBatchItems), and a
// resumed batch skips recorded lines, so a line that finished is never sent
// again. A stop lets lines in flight finish and record; lines still running
// after the grace period are abandoned unrecorded and run again after the
// restart (their first attempt is in the ledger as 'stopped').
//
// Several nodes on one database: a batch is driven by the node holding its
// lease (store.takeLease), renewed every third of `leaseMs`. A node that dies
// stops renewing; when the lease runs out another node takes the batch and
// runs the lines not recorded. A line in flight on the dead node is sent
// again (its first attempt's result was never recorded); every other line
// runs once. A node that cannot renew in time starts no more lines.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { BatchItemRow, BatchRow, BatchStatus, GatewayFileRow, GatewayStore } from '../../store/index.ts';
import { mayUse, type GatewayCaller } from '../caller.ts';
import type { GatewayFiles } from './files.ts';
import { parseLine, readLines, validateFile, type BatchError, type BatchLine, type RawLine } from './lines.ts';
import { Semaphore, sleep } from './semaphore.ts';
import { lineRequestId, outputFileId, outputLine, type BatchEndpoint, type LineError, type LineResponse } from './wire.ts';

export type BatchRunnerStore = Pick<
  GatewayStore,
  'getBatch' | 'updateBatch' | 'listBatchesByStatus' | 'putBatchItems' | 'listBatchItems' | 'getGatewayFile' | 'getApiKey' | 'takeLease' | 'dropLease'
>;

/** One input line's request, for the gateway core to run as if the key had sent it (limits, budget, router, ledger). */
export interface LineCall {
  /** The batch's key, with the line's request id (the ledger's request_id for this line). */
  caller: GatewayCaller;
  endpoint: BatchEndpoint;
  body: Record<string, unknown>;
  /** Aborted when the server stops and the grace period is over. */
  signal: AbortSignal;
}

/**
 * What became of a line. `limited` is the key's own RPM/TPM limit: a batch
 * waits and sends the line again rather than failing it. `budget` is a spent
 * monthly budget: the line fails and so do the lines after it.
 */
export type LineResult =
  | { kind: 'response'; statusCode: number; body: unknown }
  | { kind: 'budget'; statusCode: number; body: unknown; message: string }
  | { kind: 'limited'; retryAfterMs: number }
  | { kind: 'aborted' };

export type LineExecutor = (call: LineCall) => Promise<LineResult>;

export interface RunnerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BatchRunnerOptions {
  store: BatchRunnerStore;
  files: GatewayFiles;
  execute: LineExecutor;
  /** Model names the router serves (validation refuses the others). */
  models: () => readonly string[];
  /** Lines of one batch in flight at once. Default 4. */
  perBatch?: number;
  /** Lines of all batches in flight at once. Default 16. */
  maxConcurrent?: number;
  /** How often the store is checked for new batches and cancels made elsewhere. Default 1 s. */
  pollMs?: number;
  /** How long stop() lets lines in flight finish before abandoning them. Default 5 s. */
  stopGraceMs?: number;
  /** How long a batch's key row is trusted before it is read again (revocations, new limits). Default 5 s. */
  keyRefreshMs?: number;
  log?: RunnerLog;
  now?: () => number;
  /** This runner's name on its leases; unique per process by default. */
  owner?: string;
  /** How long a batch's lease lasts unless renewed: how soon another node resumes a dead node's batch. Default 30 s. */
  leaseMs?: number;
}

const UNFINISHED: BatchStatus[] = ['validating', 'in_progress', 'finalizing', 'cancelling'];
const TERMINAL_AT = { completed: 'completed_at', failed: 'failed_at', expired: 'expired_at', cancelled: 'cancelled_at' } as const;
type Terminal = keyof typeof TERMINAL_AT;
/** Lines failed without a call (budget spent, key revoked, window over) are written in groups of this many. */
const BULK_ITEMS = 500;
const COUNTS_EVERY_MS = 250;
const RETRY_BACKOFF_MS = [1_000, 5_000, 15_000, 60_000];
const SILENT: RunnerLog = { info() {}, warn() {}, error() {} };

interface Run {
  key: string;
  batch: BatchRow;
  /** Aborted by a cancel or a stop: no new line starts, waits end. */
  soft: AbortController;
  /** Aborted after the stop grace: lines still running are abandoned (and run again after restart). */
  hard: AbortController;
  cancelled: boolean;
  slots: Semaphore;
  done: Set<number>;
  completed: number;
  failed: number;
  /** Set when no more lines can be sent (budget spent, key revoked): the rest fail with this. */
  blocked: LineError | undefined;
  caller: GatewayCaller | undefined;
  callerReadAt: number;
  countsTimer: NodeJS.Timeout | undefined;
  /** Renews the lease; the run stops starting lines once it could not. */
  leaseTimer: NodeJS.Timeout | undefined;
  leaseUntil: number;
  leaseLost: boolean;
  promise: Promise<void>;
}

export class BatchRunner {
  private readonly store: BatchRunnerStore;
  private readonly files: GatewayFiles;
  private readonly execute: LineExecutor;
  private readonly models: () => readonly string[];
  private readonly perBatch: number;
  private readonly slots: Semaphore;
  private readonly pollMs: number;
  private readonly stopGraceMs: number;
  private readonly keyRefreshMs: number;
  private readonly log: RunnerLog;
  private readonly now: () => number;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly active = new Map<string, Run>();
  /** Batches whose last drive failed (store down, disk full), and when to try again. */
  private readonly retryAt = new Map<string, { at: number; failures: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  private started = false;
  private stopping = false;

  constructor(options: BatchRunnerOptions) {
    this.store = options.store;
    this.files = options.files;
    this.execute = options.execute;
    this.models = options.models;
    this.perBatch = options.perBatch ?? 4;
    this.slots = new Semaphore(options.maxConcurrent ?? 16);
    this.pollMs = options.pollMs ?? 1_000;
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.keyRefreshMs = options.keyRefreshMs ?? 5_000;
    this.log = options.log ?? SILENT;
    this.now = options.now ?? Date.now;
    // Host and process in the name, so an operator looking at the leases table can tell which node holds what.
    this.owner = options.owner ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** Resumes every unfinished batch in the store, then keeps looking for new ones. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    this.timer.unref();
  }

  /** There is new work (a batch was created): look now rather than at the next poll. */
  wake(): void {
    if (!this.started || this.stopping) return;
    setImmediate(() => void this.tick());
  }

  /** A batch was moved to cancelling: start no more of its lines. */
  cancel(appId: string, batchId: string): void {
    const run = this.active.get(runKey(appId, batchId));
    if (run) this.markCancelled(run);
    else this.wake();
  }

  /**
   * Stops taking work. Lines in flight get `stopGraceMs` to finish and be
   * recorded; after that they are aborted and left unrecorded. Every batch is
   * left in a state the next start() resumes from.
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const run of this.active.values()) run.soft.abort();
    const grace = setTimeout(() => {
      for (const run of this.active.values()) run.hard.abort();
    }, this.stopGraceMs);
    await this.ticking;
    await Promise.allSettled([...this.active.values()].map((r) => r.promise));
    clearTimeout(grace);
    this.started = false;
  }

  /** Batches being driven by this process (for tests and metrics). */
  get running(): number {
    return this.active.size;
  }

  // ---- scheduling ----

  private tick(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.ticking) {
      this.tickAgain = true;
      return this.ticking;
    }
    this.ticking = this.scan()
      .catch((err: unknown) => this.log.error({ err }, 'batches: could not read unfinished batches; trying again shortly'))
      .finally(() => {
        this.ticking = undefined;
        if (this.tickAgain) {
          this.tickAgain = false;
          void this.tick();
        }
      });
    return this.ticking;
  }

  private async scan(): Promise<void> {
    const rows = await this.store.listBatchesByStatus(UNFINISHED, 100);
    const now = this.now();
    for (const row of rows) {
      if (this.stopping) return;
      const key = runKey(row.app_id, row.id);
      const run = this.active.get(key);
      if (run) {
        // A cancel made through another node reaches us here.
        if (row.status === 'cancelling') this.markCancelled(run);
        continue;
      }
      if ((this.retryAt.get(key)?.at ?? 0) > now) continue;
      const leased = await this.lease(row);
      if (leased && !this.stopping && !this.active.has(key)) this.launch(key, leased);
      else if (leased) await this.store.dropLease(leaseName(row), this.owner);
    }
  }

  /** Takes the batch's lease; the batch as it is now, or undefined when another node holds it or it is finished. */
  private async lease(row: BatchRow): Promise<BatchRow | undefined> {
    if (!(await this.store.takeLease(leaseName(row), this.owner, this.now(), this.leaseMs))) return undefined;
    // The list may be older than the lease: the node that held it may have moved the batch on meanwhile.
    const fresh = await this.store.getBatch(row.app_id, row.id);
    if (fresh && UNFINISHED.includes(fresh.status)) return fresh;
    await this.store.dropLease(leaseName(row), this.owner);
    return undefined;
  }

  private renewLease(run: Run): void {
    const name = leaseName(run.batch);
    this.store.takeLease(name, this.owner, this.now(), this.leaseMs).then(
      (held) => {
        if (held) run.leaseUntil = this.now() + this.leaseMs;
        else this.loseLease(run, 'another node holds its lease');
      },
      (err: unknown) => {
        if (this.now() >= run.leaseUntil) this.loseLease(run, `its lease could not be renewed (${err instanceof Error ? err.message : String(err)})`);
      },
    );
  }

  private loseLease(run: Run, why: string): void {
    if (run.leaseLost) return;
    run.leaseLost = true;
    run.soft.abort();
    this.log.warn({ batch: run.batch.id, app: run.batch.app_id }, `batches: this node stops starting lines of the batch: ${why}; the lease holder runs the rest`);
  }

  private launch(key: string, batch: BatchRow): void {
    const run: Run = {
      key,
      batch,
      soft: new AbortController(),
      hard: new AbortController(),
      cancelled: batch.status === 'cancelling',
      slots: new Semaphore(this.perBatch),
      done: new Set(),
      completed: 0,
      failed: 0,
      blocked: undefined,
      caller: undefined,
      callerReadAt: 0,
      countsTimer: undefined,
      leaseTimer: undefined,
      leaseUntil: this.now() + this.leaseMs,
      leaseLost: false,
      promise: Promise.resolve(),
    };
    if (run.cancelled) run.soft.abort();
    this.active.set(key, run);
    run.leaseTimer = setInterval(() => this.renewLease(run), Math.max(10, Math.floor(this.leaseMs / 3)));
    run.leaseTimer.unref();
    run.promise = this.drive(run)
      .then(
        () => {
          this.retryAt.delete(key);
        },
        (err: unknown) => {
          const failures = (this.retryAt.get(key)?.failures ?? 0) + 1;
          const wait = RETRY_BACKOFF_MS[Math.min(failures, RETRY_BACKOFF_MS.length) - 1]!;
          this.retryAt.set(key, { at: this.now() + wait, failures });
          this.log.error({ err, batch: batch.id, app: batch.app_id, retryInMs: wait }, 'batches: a batch stopped on an error; it will be resumed');
        },
      )
      .finally(() => {
        if (run.countsTimer) clearTimeout(run.countsTimer);
        clearInterval(run.leaseTimer);
        this.active.delete(key);
        // Given up at once, so another node (or this one's next scan) resumes without waiting for it to run out.
        if (!run.leaseLost) this.store.dropLease(leaseName(run.batch), this.owner).catch(() => {});
      });
  }

  private markCancelled(run: Run): void {
    run.cancelled = true;
    run.soft.abort();
  }

  // ---- the state machine ----

  private async drive(run: Run): Promise<void> {
    for (;;) {
      if (this.stopping || run.leaseLost) return;
      const status = run.batch.status;
      if (status === 'validating') await this.validate(run);
      else if (status === 'in_progress') {
        if (!(await this.runLines(run))) return;
      } else if (status === 'finalizing') await this.finish(run, 'completed', ['finalizing']);
      else if (status === 'cancelling') await this.finish(run, 'cancelled', ['cancelling']);
      else return;
    }
  }

  private async validate(run: Run): Promise<void> {
    const b = run.batch;
    if (this.now() >= b.expires_at) return this.finish(run, 'expired', ['validating']);
    const file = await this.store.getGatewayFile(b.app_id, b.input_file_id);
    if (!file) return this.fail(run, { code: 'file_not_found', message: `The input file ${b.input_file_id} was deleted before the batch started.`, line: null, param: null });
    const caller = await this.callerFor(run);
    if ('code' in caller) return this.fail(run, { ...caller, line: null, param: null });
    const routed = new Set(this.models());
    const { total, errors } = await validateFile(await this.files.readable(file), {
      endpoint: b.endpoint as BatchEndpoint,
      mayUse: (model) => mayUse(caller, model),
      isRouted: (model) => routed.has(model),
    });
    if (errors.length > 0) return this.fail(run, ...errors);
    await this.move(run, { status: 'in_progress', in_progress_at: this.now(), request_total: total }, ['validating']);
  }

  private fail(run: Run, ...errors: BatchError[]): Promise<void> {
    return this.finish(run, 'failed', ['validating'], { errors });
  }

  /** Runs the lines not yet recorded. Returns false when the runner is stopping (the batch stays in_progress). */
  private async runLines(run: Run): Promise<boolean> {
    const b = run.batch;
    const items = await this.store.listBatchItems(b.app_id, b.id);
    run.done = new Set(items.map((i) => i.line));
    run.completed = items.filter((i) => i.status === 'ok').length;
    run.failed = items.length - run.completed;
    const file = await this.store.getGatewayFile(b.app_id, b.input_file_id);
    if (!file) {
      await this.finish(run, 'failed', ['in_progress'], {
        errors: [{ code: 'file_not_found', message: `The input file ${b.input_file_id} was deleted while the batch ran; the output holds the lines done before.`, line: null, param: null }],
      });
      return true;
    }
    const input = await this.files.readable(file);
    const inFlight = new Set<Promise<void>>();
    let bulk: BatchItemRow[] = [];
    const flushBulk = async () => {
      const items = bulk;
      bulk = [];
      await this.record(run, items);
    };
    for await (const raw of readLines(input)) {
      if (run.done.has(raw.index)) continue;
      const admitted = await this.admit(run);
      if (admitted === 'stop') break;
      if (admitted === 'blocked') {
        bulk.push(this.item(run, raw, run.blocked!));
        if (bulk.length >= BULK_ITEMS) await flushBulk();
        continue;
      }
      const line = parseLine(raw, { endpoint: b.endpoint as BatchEndpoint, mayUse: () => true, isRouted: () => true });
      if (!line.ok) {
        this.release(run);
        await this.record(run, [this.item(run, raw, { code: line.error.code, message: line.error.message })]);
        continue;
      }
      const task: Promise<void> = this.runLine(run, run.caller!, line.line)
        .catch((err: unknown) => this.log.error({ err, batch: b.id, line: raw.index }, 'batches: a line could not be recorded; it runs again when the batch resumes'))
        .finally(() => {
          this.release(run);
          inFlight.delete(task);
        });
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    if (bulk.length > 0) await flushBulk();
    await this.writeCounts(run);
    if (this.stopping || run.leaseLost) return false;

    const fresh = await this.store.getBatch(b.app_id, b.id);
    if (!fresh) return false;
    run.batch = fresh;
    if (fresh.status !== 'in_progress') return true;
    if (this.now() >= fresh.expires_at) {
      await this.closeRemaining(run, file, { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' });
      await this.finish(run, 'expired', ['in_progress']);
      return true;
    }
    if (run.done.size < fresh.request_total) {
      // Only a line whose result could not be stored gets here; the backoff in launch() retries it.
      throw new Error(`${fresh.request_total - run.done.size} lines of batch ${b.id} are not recorded`);
    }
    await this.move(run, { status: 'finalizing', finalizing_at: this.now(), request_completed: run.completed, request_failed: run.failed }, ['in_progress']);
    return true;
  }

  /** Waits for a slot for the next line: 'run' holds one (release it after), 'blocked' fails the line unsent, 'stop' starts no more. */
  private async admit(run: Run): Promise<'run' | 'blocked' | 'stop'> {
    if (this.interrupted(run)) return 'stop';
    if (run.blocked) return 'blocked';
    if (!(await this.acquire(run))) return 'stop';
    if (this.interrupted(run)) {
      this.release(run);
      return 'stop';
    }
    // Read after the wait for a slot: a line that spent the budget, or a revocation, may have come meanwhile.
    if (!run.blocked) {
      const caller = await this.callerFor(run);
      if ('code' in caller) run.blocked = caller;
    }
    if (run.blocked) {
      this.release(run);
      return 'blocked';
    }
    return 'run';
  }

  private interrupted(run: Run): boolean {
    return this.stopping || run.leaseLost || run.cancelled || this.now() >= run.batch.expires_at;
  }

  private async acquire(run: Run): Promise<boolean> {
    if (!(await run.slots.acquire(run.soft.signal))) return false;
    if (await this.slots.acquire(run.soft.signal)) return true;
    run.slots.release();
    return false;
  }

  private release(run: Run): void {
    this.slots.release();
    run.slots.release();
  }

  private async runLine(run: Run, caller: GatewayCaller, line: BatchLine): Promise<void> {
    const b = run.batch;
    const requestId = lineRequestId(b.id, line.index);
    for (;;) {
      let result: LineResult;
      try {
        result = await this.execute({ caller: { ...caller, requestId }, endpoint: b.endpoint as BatchEndpoint, body: line.body, signal: run.hard.signal });
      } catch (err) {
        this.log.error({ err, batch: b.id, line: line.index }, 'batches: a line failed inside Warbler');
        result = { kind: 'response', statusCode: 500, body: serverError('The request failed inside Warbler; see the server log for this request id.') };
      }
      if (result.kind === 'aborted' || run.hard.signal.aborted) return;
      if (result.kind === 'limited') {
        // Unrecorded, a line abandoned here by a cancel or stop is simply not in the output (or runs after restart).
        if (!(await sleep(Math.max(50, result.retryAfterMs), run.soft.signal))) return;
        continue;
      }
      const response: LineResponse = { status_code: result.statusCode, request_id: requestId, body: result.body };
      const ok = result.statusCode >= 200 && result.statusCode < 300;
      await this.record(run, [{ app_id: b.app_id, batch_id: b.id, line: line.index, custom_id: line.custom_id, status: ok ? 'ok' : 'error', result: { ...response }, created_at: this.now() }]);
      if (result.kind === 'budget') run.blocked ??= { code: 'budget_exceeded', message: result.message };
      return;
    }
  }

  /** A result for a line that was never sent. */
  private item(run: Run, raw: RawLine, error: LineError): BatchItemRow {
    return { app_id: run.batch.app_id, batch_id: run.batch.id, line: raw.index, custom_id: customIdOf(raw), status: 'error', result: { ...error }, created_at: this.now() };
  }

  /** Fails every line not yet recorded (the window is over). */
  private async closeRemaining(run: Run, file: GatewayFileRow, error: LineError): Promise<void> {
    let bulk: BatchItemRow[] = [];
    for await (const raw of readLines(await this.files.readable(file))) {
      if (run.done.has(raw.index)) continue;
      bulk.push(this.item(run, raw, error));
      if (bulk.length >= BULK_ITEMS) {
        await this.record(run, bulk);
        bulk = [];
      }
    }
    await this.record(run, bulk);
  }

  /** Stores results, retrying a failing store a few times: a result lost here means the line runs again later. */
  private async record(run: Run, items: BatchItemRow[]): Promise<void> {
    if (items.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.putBatchItems(items);
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        this.log.warn({ err, batch: run.batch.id, attempt }, 'batches: could not store line results; retrying');
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
    for (const item of items) {
      if (run.done.has(item.line)) continue;
      run.done.add(item.line);
      if (item.status === 'ok') run.completed += 1;
      else run.failed += 1;
    }
    run.countsTimer ??= setTimeout(() => {
      run.countsTimer = undefined;
      void this.writeCounts(run).catch((err: unknown) => this.log.warn({ err, batch: run.batch.id }, 'batches: could not update request counts'));
    }, COUNTS_EVERY_MS);
  }

  /** Progress for clients polling the batch; the status is left alone, and a batch already past these states is not touched. */
  private async writeCounts(run: Run): Promise<void> {
    if (run.countsTimer) clearTimeout(run.countsTimer);
    run.countsTimer = undefined;
    const b = run.batch;
    await this.store.updateBatch(b.app_id, b.id, { request_completed: run.completed, request_failed: run.failed }, ['in_progress', 'cancelling']);
  }

  /**
   * Writes the output file (lines that succeeded) and the error file (lines
   * that failed), both in input order, then moves the batch to its final
   * state. Safe to run again: the files have ids derived from the batch.
   */
  private async finish(run: Run, final: Terminal, from: BatchStatus[], extra: Partial<BatchRow> = {}): Promise<void> {
    const b = run.batch;
    const items = await this.store.listBatchItems(b.app_id, b.id);
    const ok = items.filter((i) => i.status === 'ok');
    const failed = items.filter((i) => i.status === 'error');
    const write = async (kind: 'output' | 'error', rows: BatchItemRow[]) => {
      if (rows.length === 0) return null;
      const file = await this.files.write(b.app_id, {
        id: outputFileId(b.id, kind),
        purpose: kind === 'output' ? 'batch_output' : 'batch_error',
        filename: `${b.id}_${kind}.jsonl`,
        lines: (function* () {
          for (const row of rows) yield outputLine(b.id, row);
        })(),
      });
      return file.id;
    };
    const output_file_id = await write('output', ok);
    const error_file_id = await write('error', failed);
    const moved = await this.move(
      run,
      { status: final, [TERMINAL_AT[final]]: this.now(), output_file_id, error_file_id, request_completed: ok.length, request_failed: failed.length, ...extra },
      from,
    );
    if (moved) this.log.info({ batch: b.id, app: b.app_id, status: final, completed: ok.length, failed: failed.length }, `batches: batch ${final}`);
  }

  /** A conditional transition; when another writer got there first, the run follows the batch's actual state. */
  private async move(run: Run, patch: Partial<BatchRow>, from: BatchStatus[]): Promise<boolean> {
    const b = run.batch;
    const { app_id: _a, id: _i, created_at: _c, key_id: _k, endpoint: _e, input_file_id: _f, ...rest } = patch;
    const next = await this.store.updateBatch(b.app_id, b.id, rest, from);
    if (next) {
      run.batch = next;
      return true;
    }
    const fresh = await this.store.getBatch(b.app_id, b.id);
    if (!fresh) throw new Error(`batch ${b.id} is gone from the store`);
    run.batch = fresh;
    if (fresh.status === 'cancelling') this.markCancelled(run);
    return false;
  }

  /** The key the batch was created with, as it is now; a revoked or expired key stops the batch's remaining lines. */
  private async callerFor(run: Run): Promise<GatewayCaller | LineError> {
    const now = this.now();
    if (run.caller && now - run.callerReadAt < this.keyRefreshMs) return run.caller;
    const b = run.batch;
    if (b.key_id === null) {
      run.caller = { appId: b.app_id, key: null, requestId: '' };
    } else {
      const key = await this.store.getApiKey(b.app_id, b.key_id);
      const why = !key ? 'was deleted' : key.revoked_at !== null ? 'was revoked' : key.expires_at !== null && key.expires_at <= now ? 'has expired' : undefined;
      if (why) return { code: 'invalid_api_key', message: `The API key that created this batch ${why}; its remaining requests were not run.` };
      run.caller = { appId: b.app_id, key: key!, requestId: '' };
    }
    run.callerReadAt = now;
    return run.caller;
  }
}

function runKey(appId: string, batchId: string): string {
  return `${appId}\u0000${batchId}`;
}

/** The custom_id of a line that was validated when the batch started (so it parses). */
function customIdOf(raw: RawLine): string {
  try {
    const v = JSON.parse(raw.text) as { custom_id?: unknown };
    return typeof v.custom_id === 'string' ? v.custom_id : '';
  } catch {
    return '';
  }
}

function serverError(message: string) {
  return { error: { message, type: 'server_error', param: null, code: null } };
}

const leaseName = (b: Pick<BatchRow, 'app_id' | 'id'>) => `batch:${b.app_id}:${b.id}`;
