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

export interface LinkedAbort {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  /**
   * Called once, right after the signal aborts (by abort() or by the parent).
   * A field, not a listener on the signal: addEventListener on an AbortSignal
   * is one of the dearer things a /v1 request did.
   */
  onAbort: (() => void) | undefined;
  /** Unhooks from the parent; call when the work is done. */
  dispose(): void;
}

/**
 * A child AbortController that follows its parent and unhooks when disposed.
 * Not AbortSignal.any: on Node 20 its dependants stay reachable from a
 * long-lived parent, and a gateway under load must keep memory flat.
 */
export function linkAbort(parent?: StopSignal): LinkedAbort {
  return new Link(parent);
}

class Link implements LinkedAbort {
  private readonly controller = new AbortController();
  onAbort: (() => void) | undefined = undefined;
  private readonly follow: (() => void) | undefined;

  constructor(private readonly parent: StopSignal | undefined) {
    if (!parent) return;
    if (parent.aborted) {
      this.controller.abort(parent.reason);
      return;
    }
    this.follow = () => this.abort(parent.reason);
    parent.addEventListener('abort', this.follow, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
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
