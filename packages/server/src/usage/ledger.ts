// The Ledger records every model call attempt. Router reports arrive on the
// hot path of every reply and every /v1 request, so recording is synchronous
// and cheap: the row is priced, handed to listeners (budgets) and buffered;
// a background writer appends buffered rows in small batches, one append in
// flight at a time. A failed append keeps its rows and tries again, and
// close() waits until every accepted row is written.
//
// An attempt's row is opened when the attempt is sent (outcome 'pending', the
// worst case it may cost) and settled in place when it ends, so a crash or a
// shutdown mid-call leaves a row to settle as 'interrupted' instead of none.
// A call that ends before its open row was written is written once, settled.
import { newOrderedId } from '../ids.ts';
import type { AttemptReport, AttemptStart, ModelPrice, PriceTable } from '../llm/index.ts';
import type { AiStore, LedgerRow } from '../store/index.ts';
import { isUsageContext, ledgerRowFromAttempt, openRowFromStart, interruptedRow, priceFor, type UsageContext } from './policy.ts';

export type LedgerStore = Pick<AiStore, 'appendLedger'>;

/** The part of a pino logger the ledger uses. */
export interface UsageLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LedgerOptions {
  store: LedgerStore;
  prices: PriceTable;
  log?: UsageLog;
  /** Rows per append. Default 100. */
  batchSize?: number;
  /** Longest a row waits in the buffer before it is written. Default 50 ms. */
  flushMs?: number;
  /**
   * Rows kept while the store refuses them. Past this the oldest are logged
   * in full (so an operator can replay them) and dropped, instead of growing
   * without bound. Default 100,000.
   */
  maxBuffered?: number;
  /** Appends tried by close() before it gives up and logs what is left. Default 5. */
  closeAttempts?: number;
  now?: () => number;
}

export type LedgerListener = (row: LedgerRow) => void;

/** Told of each attempt's row as it opens (its worst case) and when it is settled (by id). Budgets hold in-flight spend with it. */
export interface InFlightListener {
  opened(row: LedgerRow): void;
  closed(row: LedgerRow): void;
}

/** A buffered row; settling an attempt whose open row is still buffered replaces it here, so it is written once. */
interface Slot {
  row: LedgerRow;
}

interface OpenAttempt {
  row: LedgerRow;
  /** Settled as interrupted at shutdown: a late report for it is dropped, the row already says what happened. */
  interrupted: boolean;
  /** The price the open row was priced with and the table it came from: its settled row reuses it while the table stays. */
  price: ModelPrice | undefined;
  prices: PriceTable;
  start: AttemptStart;
}

interface Waiter {
  target: number;
  resolve(): void;
  reject(err: unknown): void;
}

const SILENT: UsageLog = { warn() {}, error() {} };
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;

export function newLedgerId(): string {
  // Time-ordered (index locality) and from the shared random pool: a row per gateway call.
  return newOrderedId('led');
}

export class LedgerCloseError extends Error {
  override name = 'LedgerCloseError';
  constructor(readonly unwritten: number, cause: unknown) {
    super(`${unwritten} ledger rows could not be written before shutdown; they are in the error log.`, { cause });
  }
}

export class Ledger {
  private readonly store: LedgerStore;
  private prices: PriceTable;
  private readonly log: UsageLog;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxBuffered: number;
  private readonly closeAttempts: number;
  private readonly now: () => number;
  private readonly listeners = new Set<LedgerListener>();
  private readonly inFlightListeners = new Set<InFlightListener>();
  private readonly warnedUnpriced = new Set<string>();
  /** Attempts sent and not yet reported, by callId#attempt. */
  private readonly openAttempts = new Map<string, OpenAttempt>();
  /** Buffered rows by id, for settling an open row before it is written. */
  private readonly bufferedById = new Map<string, Slot>();
  private buffer: Slot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private retryWake: (() => void) | undefined;
  private failures = 0;
  private closing = false;
  /** Rows ever accepted, and rows that have left the buffer for good: flush() waits on these counts. */
  private accepted = 0;
  private settled = 0;
  private waiters: Waiter[] = [];
  private floor = 0;
  private lastStamp = 0;
  private closed: Promise<void> | undefined;

  constructor(options: LedgerOptions) {
    this.store = options.store;
    this.prices = options.prices;
    this.log = options.log ?? SILENT;
    this.batchSize = options.batchSize ?? 100;
    this.flushMs = options.flushMs ?? 50;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.closeAttempts = options.closeAttempts ?? 5;
    this.now = options.now ?? Date.now;
  }

  /** For `new Router({ onAttempt: ledger.onAttempt })`. */
  readonly onAttempt = (report: AttemptReport): void => {
    this.recordAttempt(report);
  };

  /** For `new Router({ onAttemptStart: ledger.onAttemptStart })`. */
  readonly onAttemptStart = (start: AttemptStart): void => {
    this.openAttempt(start);
  };

  /** Opens the row of an attempt being sent: outcome 'pending', priced at the most it may use. */
  openAttempt(start: AttemptStart): LedgerRow | undefined {
    if (!isUsageContext(start.context)) return undefined;
    const prices = this.prices;
    const price = priceFor(start, prices);
    const row = openRowFromStart(start, { id: newLedgerId(), createdAt: this.stamp(), context: start.context, prices, known: { price } });
    this.openAttempts.set(attemptKey(start), { row, interrupted: false, price, prices, start });
    for (const listener of this.inFlightListeners) this.tell(() => listener.opened(row));
    this.buffered(row);
    return row;
  }

  /** Prices a Router attempt and records it; the report's `context` must be a UsageContext. */
  recordAttempt(report: AttemptReport, context: unknown = report.context): LedgerRow | undefined {
    if (!isUsageContext(context)) {
      // A caller forgot to say who is calling: a bug, but the call still cost money, so make it loud.
      this.log.error({ callId: report.callId, model: report.requestedModel, deployment: report.deployment, usage: report.usage }, 'model call without a usage context; it is not in the ledger');
      return undefined;
    }
    const key = attemptKey(report);
    const open = this.openAttempts.get(key);
    this.openAttempts.delete(key);
    if (open?.interrupted) return undefined;
    // Priced once per attempt: the open row's price stands for the report of the same attempt (same models, provider
    // and start, so the same lookup) unless an operator swapped the price table meanwhile.
    const known = open && open.prices === this.prices && samePricing(open.start, report) ? { price: open.price } : undefined;
    const { row, unpriced } = ledgerRowFromAttempt(report, { id: open?.row.id ?? newLedgerId(), createdAt: this.stamp(), context, prices: this.prices, ...(known && { known }) });
    if (unpriced !== undefined && !this.warnedUnpriced.has(unpriced)) {
      this.warnedUnpriced.add(unpriced);
      this.log.warn({ model: unpriced, deployment: report.deployment }, `no price for model "${unpriced}": its calls are recorded at cost 0; add it under prices in warbler.yaml`);
    }
    this.append(row);
    return row;
  }

  /**
   * Settles every attempt still in flight as 'interrupted' (the shutdown grace
   * ran out): tokens are the prompt's estimate, flagged as estimated. Reports
   * that arrive for them afterwards are dropped.
   */
  interruptInFlight(reason: string): number {
    let n = 0;
    for (const open of this.openAttempts.values()) {
      if (open.interrupted) continue;
      open.interrupted = true;
      this.append(interruptedRow(open.row, { completionTokens: 0, createdAt: this.stamp(), prices: this.prices, reason }));
      n++;
    }
    return n;
  }

  /** Attempts sent and not yet ended. */
  get inFlight(): number {
    let n = 0;
    for (const open of this.openAttempts.values()) if (!open.interrupted) n++;
    return n;
  }

  /** Records a row built elsewhere (a provider's native batch results). Its created_at is kept unless it is before the last barrier. */
  append(row: LedgerRow): void {
    if (row.created_at < this.floor) row = { ...row, created_at: this.floor };
    this.lastStamp = Math.max(this.lastStamp, row.created_at);
    for (const listener of this.inFlightListeners) this.tell(() => listener.closed(row));
    for (const listener of this.listeners) this.tell(() => listener(row));
    this.buffered(row);
  }

  /** Called with every settled row as it is recorded, before it is written. Returns an unsubscribe function. */
  subscribe(listener: LedgerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told of rows as they open and as they settle. Returns an unsubscribe function. */
  watchInFlight(listener: InFlightListener): () => void {
    this.inFlightListeners.add(listener);
    return () => this.inFlightListeners.delete(listener);
  }

  /** Swaps the price table (an operator edited prices); rows already recorded keep their cost. */
  setPrices(prices: PriceTable): void {
    this.prices = prices;
  }

  /**
   * A time that splits the ledger in two: every row recorded before this call
   * has created_at < the cut, every row recorded after has created_at >= it.
   * Budgets seed their totals from the store below the cut and count rows at
   * or above it themselves, so no row is missed or counted twice.
   */
  barrier(): number {
    const cut = Math.max(this.now(), this.lastStamp) + 1;
    this.floor = cut;
    return cut;
  }

  /** Rows accepted and not yet written. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Resolves once every row recorded before the call is in the store; rows
   * recorded meanwhile do not hold it up. Rejects if an append fails while
   * waiting (the rows stay buffered and are retried).
   */
  flush(): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    const waiter = new Promise<void>((resolve, reject) => this.waiters.push({ target, resolve, reject }));
    this.retryWake?.();
    this.kick();
    return waiter;
  }

  /** Writes everything accepted, then stops. Rows recorded afterwards are written at once, unbatched. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.retryWake?.();
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.drain();
    })();
    return this.closed;
  }

  private tell(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.error({ err }, 'ledger listener failed');
    }
  }

  /** Buffers a row for the writer; a row whose open version is still buffered takes its place (one write, not two). */
  private buffered(row: LedgerRow): void {
    const slot = this.bufferedById.get(row.id);
    if (slot) {
      slot.row = row;
      return;
    }
    const fresh = { row };
    this.buffer.push(fresh);
    this.bufferedById.set(row.id, fresh);
    this.accepted += 1;
    if (this.buffer.length > this.maxBuffered) this.shed();
    this.schedule();
  }

  /** Slots leave the buffer for the writer: a row settled from now on is written again (the store replaces it by id). */
  private take(n: number): Slot[] {
    const batch = this.buffer.splice(0, n);
    for (const slot of batch) if (this.bufferedById.get(slot.row.id) === slot) this.bufferedById.delete(slot.row.id);
    return batch;
  }

  /** A failed batch goes back in front; a slot whose row was buffered again meanwhile gives way to the newer one. */
  private putBack(batch: Slot[]): void {
    const kept = batch.filter((slot) => !this.bufferedById.has(slot.row.id));
    for (const slot of kept) this.bufferedById.set(slot.row.id, slot);
    this.settle(batch.length - kept.length);
    this.buffer.unshift(...kept);
  }

  // created_at of a recorded row: the clock, held at or above the last barrier
  // (a row may be stamped up to 1 ms ahead of the clock).
  private stamp(): number {
    const t = Math.max(this.now(), this.floor);
    this.lastStamp = Math.max(this.lastStamp, t);
    return t;
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.closing || this.buffer.length >= this.batchSize) {
      this.kick();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.flushMs);
      // Pending rows must not keep a finished process alive; close() is what guarantees they are written.
      this.timer.unref();
    }
  }

  /** Starts the writer if idle; its failures are logged where they happen. */
  private kick(): void {
    this.drain().catch(() => {});
  }

  private drain(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = this.writeAll().finally(() => {
      this.writing = undefined;
      if (this.buffer.length > 0 && !this.closing) this.schedule();
    });
    this.writing = run;
    return run;
  }

  private async writeAll(): Promise<void> {
    let closeFailures = 0;
    while (this.buffer.length > 0) {
      const batch = this.take(this.batchSize);
      try {
        await this.store.appendLedger(batch.map((slot) => slot.row));
        this.failures = 0;
        this.settle(batch.length);
      } catch (err) {
        this.putBack(batch);
        this.failures += 1;
        this.rejectWaiters(err);
        if (this.closing && ++closeFailures >= this.closeAttempts) {
          const rows = this.take(this.buffer.length).map((slot) => slot.row);
          this.settle(rows.length);
          this.log.error({ err, rows: rows.map(printable) }, 'ledger rows not written at shutdown');
          throw new LedgerCloseError(rows.length, err);
        }
        this.log.error({ err, pending: this.buffer.length, failures: this.failures }, 'ledger append failed; retrying');
        await this.pause(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.failures - 1, 10)));
      }
    }
  }

  /** `n` more rows left the buffer for good (written, or dropped and logged). */
  private settle(n: number): void {
    this.settled += n;
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= this.settled) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private rejectWaiters(err: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error('the ledger could not write its rows: the store is failing', { cause: err }));
  }

  /** Backoff after a failed append; close() cuts it short. */
  private pause(ms: number): Promise<void> {
    if (this.closing) return new Promise((resolve) => setTimeout(resolve, Math.min(ms, RETRY_BASE_MS)).unref());
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.retryWake = undefined;
        resolve();
      }
      this.retryWake = done;
    });
  }

  private shed(): void {
    const dropped = this.take(this.buffer.length - this.maxBuffered).map((slot) => slot.row);
    this.settle(dropped.length);
    this.log.error({ rows: dropped.map(printable) }, `ledger buffer full (${this.maxBuffered} rows) while the store is failing; oldest rows dropped from memory`);
  }
}

const attemptKey = (a: { callId: string; attempt: number }) => `${a.callId}#${a.attempt}`;

/** Whether priceFor() asks the same of both (it reads these fields only). */
function samePricing(a: AttemptStart, b: AttemptReport): boolean {
  return a.upstreamModel === b.upstreamModel && a.model === b.model && a.requestedModel === b.requestedModel && a.provider === b.provider && a.startedAt === b.startedAt;
}

/** Rows for a JSON log line: BigInt does not serialise. */
function printable(row: LedgerRow): Record<string, unknown> {
  return { ...row, cost_nanos: row.cost_nanos.toString() };
}

export type { UsageContext };
