// A circuit breaker per deployment. Hand-written rather than taken from a
// library (cockatiel, opossum) because those wrap one promise per call: an LLM
// stream's verdict comes long after the call "returned" (a cut stream fails
// after the first token), and in half-open state they queue callers behind the
// probe where the router wants to skip straight to a fallback.
//
// An open circuit never shuts the last way to a model, though: when every
// deployment a call could use is open, the router still sends it, on a
// last-resort ticket (beginAnyway). Otherwise one tenant whose prompts make
// upstream fail would pause the model for every tenant (Envoy's panic
// threshold and LiteLLM's single-deployment rule make the same trade).

export type CircuitState = 'closed' | 'open' | 'half_open';

/** A circuit opened (at `openedAt`, ms since the epoch) or closed: what several nodes share, so all stop calling a failing deployment. */
export type CircuitChange = { state: 'open'; openedAt: number } | { state: 'closed' };

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long an open circuit rejects calls before it lets one probe through. Default 30 s. */
  cooldownMs?: number;
  now?: () => number;
  /** Told when this breaker opens or closes by its own verdicts (not by apply()). */
  onChange?: (change: CircuitChange) => void;
}

/** Handed out by `begin()`; report exactly one verdict on it. */
export interface CircuitTicket {
  readonly probe: boolean;
  /** Sent although the circuit was open, because nothing else could serve the call (see beginAnyway). */
  readonly lastResort?: boolean;
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly onChange: ((change: CircuitChange) => void) | undefined;
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(options: CircuitOptions = {}) {
    this.threshold = options.failureThreshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange;
  }

  /**
   * Another node's verdict: open from its moment (a later opening wins), or
   * closed after its probe succeeded. A probe out here still reports its own.
   */
  apply(change: CircuitChange): void {
    if (change.state === 'closed') {
      this.openedAt = undefined;
      this.failures = 0;
    } else if (this.openedAt === undefined || change.openedAt > this.openedAt) {
      this.openedAt = change.openedAt;
    }
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half_open' : 'open';
  }

  /** Milliseconds until an open circuit will let a probe through (0 when it would now). */
  get retryInMs(): number {
    return this.openedAt === undefined ? 0 : Math.max(0, this.openedAt + this.cooldownMs - this.now());
  }

  /** Whether a call may start now: closed, or half-open with no probe already out. */
  canAttempt(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half_open' && !this.probing);
  }

  /** Call only after canAttempt() said yes. */
  begin(): CircuitTicket {
    if (this.state === 'closed') return { probe: false };
    this.probing = true;
    return { probe: true };
  }

  /**
   * A call that goes through whatever the state, because every other way to
   * the model is shut too. It holds no probe slot (any number may be out at
   * once); its verdict counts like a probe's: an answer closes the circuit, a
   * failure starts the cool-down again.
   */
  beginAnyway(): CircuitTicket {
    return this.openedAt === undefined ? { probe: false } : { probe: false, lastResort: true };
  }

  success(ticket: CircuitTicket): void {
    if (ticket.probe) this.probing = false;
    if ((ticket.probe || ticket.lastResort) && this.openedAt !== undefined) {
      this.openedAt = undefined;
      this.onChange?.({ state: 'closed' });
    }
    // A call that started before the circuit opened proves little about now.
    if (this.openedAt === undefined) this.failures = 0;
  }

  failure(ticket: CircuitTicket): void {
    if (ticket.probe) {
      this.probing = false;
      return this.open();
    }
    if (this.openedAt !== undefined) {
      // The most recent evidence: the router's last resort then tries the deployment that failed longest ago.
      if (ticket.lastResort) this.open();
      return;
    }
    this.failures += 1;
    if (this.failures >= this.threshold) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.onChange?.({ state: 'open', openedAt: this.openedAt });
  }

  /** The call ended with no verdict on the deployment (the caller stopped, or the request itself was bad). */
  release(ticket: CircuitTicket): void {
    if (ticket.probe) this.probing = false;
  }
}
