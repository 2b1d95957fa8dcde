import { LlmError } from './errors.ts';

export interface LinkedAbort {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  /** Unhooks from the parent; call when the work is done. */
  dispose(): void;
}

/**
 * A child AbortController that follows its parent and unhooks when disposed.
 * Not AbortSignal.any: on Node 20 its dependants stay reachable from a
 * long-lived parent, and a gateway under load must keep memory flat.
 */
export function linkAbort(parent?: AbortSignal): LinkedAbort {
  const controller = new AbortController();
  if (!parent) return { signal: controller.signal, abort: (r) => controller.abort(r), dispose: () => {} };
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    abort: (r) => controller.abort(r),
    dispose: () => parent.removeEventListener('abort', follow),
  };
}

/** The error an aborted signal stands for: our own timeouts carry an LlmError; anything else is the caller stopping. */
export function abortError(signal: AbortSignal): LlmError {
  const reason: unknown = signal.reason;
  if (reason instanceof LlmError) return reason;
  return new LlmError('aborted', 'The call was stopped before the model finished.', { cause: reason });
}
