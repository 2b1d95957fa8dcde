import { errorStatus, type ErrorCode } from '@warbler/protocol';

/**
 * An error a client may see: a stable code, a message that says what to do,
 * and the HTTP status that fits. Anything else thrown is reported as
 * `internal` without its details.
 */
export class WarblerError extends Error {
  override name = 'WarblerError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = errorStatus[code];
  }
}

export const notFound = (what: string) => new WarblerError('not_found', `${what} was not found in this app.`);
export const notMember = () =>
  new WarblerError('not_member', 'You are not a member of this conversation. Ask a member to add you first.');
export const forbidden = (message: string) => new WarblerError('forbidden', message);
export const badRequest = (message: string, details?: unknown) => new WarblerError('bad_request', message, details);
