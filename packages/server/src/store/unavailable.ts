import { WarblerError } from '../errors.ts';

// Socket failures between Warbler and PostgreSQL: refused (down, restarting),
// reset (failover, network), unreachable, DNS not answering.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

// SQLSTATEs that say "not now" rather than "never": connection exceptions
// (class 08, matched below), shutting down or starting up, too many connections.
const UNREACHABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// The two a retry resolves by design: serialization failure, deadlock.
const RETRY_SQLSTATES = new Set(['40001', '40P01']);
// Out of disk or memory (class 53; SQLite's "full"): an operator has to act, but
// the request was fine, and a client that keeps it and retries loses nothing.
const RESOURCE_SQLSTATE = /^53[0-9A-Z]{3}$/;

// pg raises these as plain Errors when a connection dies under a query, a
// pool checkout waits too long, or a query outlives its query_timeout.
const PG_CONNECTION_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /^Query read timeout$/];

/**
 * True when a store call failed because the database could not be reached or
 * asked to be retried, or ran out of disk or memory: nothing is wrong with the
 * request, and the same call later should work. SQLite's "busy" and "full"
 * are the embedded equivalents.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (isDatabaseUnreachable(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error) || typeof code !== 'string') return false;
  return RETRY_SQLSTATES.has(code) || RESOURCE_SQLSTATE.test(code) || code === 'SQLITE_FULL' || code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_');
}

/** The narrower case: no answer from the database at all, so trying again at once is pointless. */
export function isDatabaseUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNREACHABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // Node's connect errors for several addresses (localhost: ::1 and 127.0.0.1) come as one AggregateError.
  if (error instanceof AggregateError && error.errors.length > 0 && error.errors.every(isDatabaseUnreachable)) return true;
  return PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * What a client is told when the store is unavailable. Sends carry a
 * client_msg_id, so a retry can never store a message twice, whatever the
 * failed attempt managed to do.
 */
export function storeUnavailable(): WarblerError {
  return new WarblerError(
    'unavailable',
    'Warbler cannot use its database right now. Try again in a few seconds; a send retried with the same client_msg_id is never stored twice.',
  );
}
