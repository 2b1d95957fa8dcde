import { LlmError } from './errors.ts';

/**
 * What a call follows to stop: an AbortSignal, or anything with the same
 * state and 'abort' event. A /v1 request's client watch is one (http/v1.ts):
 * Node's AbortSignal is an EventTarget, and making one was ~1.5 % of a
 * non-streaming call's CPU, for an event that rarely comes.
 */
export interface StopSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A StopSignal to abort by hand, with a real AbortController made only when
 * something asks for `signal` (aborted along with it). For what rarely
 * aborts and is mostly followed by our own code and undici (which takes any
 * object with an 'abort' event): a /v1 request's client, a router attempt.
 */
export class StopSource implements StopSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined = undefined;
  /** The listeners being called by abort(): one removed meanwhile is not called, as with an EventTarget. */
  private calling: Array<(() => void) | undefined> | undefined = undefined;
  private made: AbortController | undefined = undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    // As an AbortSignal's: a listener added after the abort is never called.
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
    const j = this.calling?.indexOf(listener) ?? -1;
    if (j >= 0) this.calling![j] = undefined;
  }

  /** Aborts once: the AbortController if one was made, then the listeners in the order they came. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    // What an AbortController gives when aborted without a reason.
    this.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.made?.abort(this.reason);
    const listeners: Array<(() => void) | undefined> | undefined = this.listeners;
    this.listeners = undefined;
    if (!listeners) return;
    this.calling = listeners;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i];
      if (!listener) continue;
      try {
        listener();
      } catch (err) {
        // As an EventTarget does: the other listeners still run, and the error is not lost.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.calling = undefined;
  }

  /** A real AbortController that follows this source (already aborted if it is), made on first use. */
  controller(): AbortController {
    if (!this.made) {
      this.made = new AbortController();
      if (this.aborted) this.made.abort(this.reason);
    }
    return this.made;
  }

  get signal(): AbortSignal {
    return this.controller().signal;
  }
}

export interface LinkedAbort extends StopSignal {
  /** A real AbortSignal for what needs one (made on first use); undici and our own code can follow the link itself. */
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  /**
   * Called once, right after the link aborts (by abort() or by the parent).
   * A field, not a listener: it is what the attempt's own promise settles by.
   */
  onAbort: (() => void) | undefined;
  /** Unhooks from the parent; call when the work is done. */
  dispose(): void;
}

/**
 * A child abort that follows its parent and unhooks when disposed.
 * Not AbortSignal.any: on Node 20 its dependants stay reachable from a
 * long-lived parent, and a gateway under load must keep memory flat.
 */
export function linkAbort(parent?: StopSignal): LinkedAbort {
  return new Link(parent);
}

class Link extends StopSource implements LinkedAbort {
  onAbort: (() => void) | undefined = undefined;
  private readonly follow: (() => void) | undefined;

  constructor(private readonly parent: StopSignal | undefined) {
    super();
    if (!parent) return;
    if (parent.aborted) {
      this.abort(parent.reason);
      return;
    }
    this.follow = () => this.abort(parent.reason);
    parent.addEventListener('abort', this.follow, { once: true });
  }

  override abort(reason: unknown): void {
    if (this.aborted) return;
    super.abort(reason);
    this.onAbort?.();
  }

  dispose(): void {
    if (this.follow) this.parent!.removeEventListener('abort', this.follow);
  }
}

/** The error an aborted signal stands for: our own timeouts carry an LlmError; anything else is the caller stopping. */
export function abortError(signal: StopSignal): LlmError {
  const reason: unknown = signal.reason;
  if (reason instanceof LlmError) return reason;
  return new LlmError('aborted', 'The call was stopped before the model finished.', { cause: reason });
}
