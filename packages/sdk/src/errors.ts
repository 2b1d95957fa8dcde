import type { ErrorCode } from '@warbler/protocol';

/**
 * Codes the SDK adds to the server's: `network` (a REST call never reached
 * the server), `disconnected` (the socket dropped before the reply; the SDK
 * retries these itself), `closed` (the client was closed while waiting) and
 * `handler` (an event handler threw).
 */
export type WarblerErrorCode = ErrorCode | 'network' | 'disconnected' | 'closed' | 'handler';

/** Every failure the SDK reports: a stable code to branch on, and the server's message. */
export class WarblerError extends Error {
  override name = 'WarblerError';
  constructor(
    readonly code: WarblerErrorCode,
    message: string,
    /** The HTTP status, for REST calls. */
    readonly status?: number,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * Error frames that mean "try the same frame again later". Everything else
 * the server refuses will be refused again, so the caller must hear it.
 */
export function isTransient(error: unknown): boolean {
  return error instanceof WarblerError && (error.code === 'rate_limited' || error.code === 'unavailable' || error.code === 'disconnected');
}
