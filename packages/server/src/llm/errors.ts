export type LlmErrorKind =
  | 'rate_limited'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'bad_request'
  | 'auth'
  | 'not_found'
  /** The stream ended or broke before the model finished. */
  | 'cut_stream'
  /** Upstream sent something that is not the wire format. */
  | 'malformed'
  /** The caller stopped the call. */
  | 'aborted'
  /** Every deployment that could serve the model is shut by its circuit breaker. */
  | 'unavailable'
  /**
   * Warbler failed on its side of the wire (a request it could not serialise,
   * a bug in an adapter): says nothing about the deployment, so it never
   * counts against its circuit and is not retried.
   */
  | 'internal';

/** Kinds where trying again (here or on another deployment) may succeed. */
const TRANSIENT: ReadonlySet<LlmErrorKind> = new Set(['rate_limited', 'server', 'timeout', 'connection', 'cut_stream', 'malformed']);

// Status a gateway answers its own client with: upstream trouble is ours to
// own (502/503/504), not the client's, except limits and bad requests.
const HTTP_STATUS: Record<LlmErrorKind, number> = {
  rate_limited: 429,
  server: 502,
  timeout: 504,
  connection: 502,
  bad_request: 400,
  auth: 502,
  not_found: 404,
  cut_stream: 502,
  malformed: 502,
  aborted: 499,
  unavailable: 503,
  internal: 500,
};

export interface LlmErrorInit {
  status?: number;
  code?: string;
  retryAfterMs?: number;
  deployment?: string;
  cause?: unknown;
}

export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly kind: LlmErrorKind;
  /** The upstream HTTP status, when there was one. */
  readonly status?: number;
  /** The upstream error code, e.g. "rate_limit_exceeded". */
  readonly code?: string;
  /** How long upstream asked us to wait (Retry-After / retry-after-ms). */
  readonly retryAfterMs?: number;
  /** The deployment that failed; the router fills it in. */
  deployment?: string;

  constructor(kind: LlmErrorKind, message: string, init: LlmErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = kind;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.deployment !== undefined) this.deployment = init.deployment;
  }

  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }

  /** The status to answer a gateway client with. */
  get httpStatus(): number {
    return HTTP_STATUS[this.kind];
  }
}

export function isLlmError(e: unknown): e is LlmError {
  return e instanceof LlmError;
}

/**
 * What our own code threw rather than the network or the provider: engine
 * errors (a stack overflow, a circular or BigInt value in JSON.stringify, a
 * bug's TypeError). Transport errors (undici's, the socket's) carry a `code`.
 */
export function isLocalFault(err: unknown): boolean {
  if (err instanceof LlmError) return false;
  if (err instanceof RangeError || err instanceof ReferenceError) return true;
  return err instanceof TypeError && typeof (err as { code?: unknown }).code !== 'string';
}

/**
 * An `internal` LlmError for a local fault. Its message is safe to show (the
 * engine's own text, e.g. "Maximum call stack size exceeded", stays in
 * `cause` for the logs).
 */
export function internalError(err: unknown, doing: string): LlmError {
  return new LlmError('internal', `Warbler failed while ${doing} (a fault on our side, not the provider's). Try again; if it persists, report the request id.`, { cause: err });
}

/** Any thrown value as an LlmError: ours as `internal`, anything else as a provider failure. */
export function asLlmError(err: unknown, doing: string): LlmError {
  if (err instanceof LlmError) return err;
  if (isLocalFault(err)) return internalError(err, doing);
  return new LlmError('server', `The provider failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Parses `retry-after-ms` (OpenAI, Azure) or `retry-after` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
