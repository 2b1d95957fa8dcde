import { z } from 'zod';

/**
 * Every error a client can see, REST or realtime. The code is stable and
 * machine-readable; the message says what to do about it.
 */
export const ErrorCode = z.enum([
  'bad_request',
  'unauthorized',
  'token_expired',
  'forbidden',
  'not_found',
  'not_member',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unknown_frame',
  'internal',
  'unavailable',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The HTTP status that fits each code, shared so REST and docs agree. */
export const errorStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  token_expired: 401,
  forbidden: 403,
  not_member: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unknown_frame: 400,
  internal: 500,
  unavailable: 503,
};

/** WebSocket close codes the server uses; clients decide whether to reconnect by them. */
export const CloseCode = {
  /** Normal close by either side. */
  normal: 1000,
  /** Server is restarting or shutting down: reconnect (to another node) and resume. */
  restart: 1012,
  /** Token missing, invalid, expired or revoked: get a new token before reconnecting. */
  unauthorized: 4001,
  /** The client fell too far behind (send buffer full): reconnect and resume from your cursors. */
  slowConsumer: 4008,
  /** Too many protocol violations (bad frames, flooding): back off before reconnecting. */
  policy: 4009,
} as const;

/**
 * How a client hands its user token to the WebSocket endpoint without putting
 * it in the URL (where proxies and logs keep it): as a subprotocol, beside the
 * protocol's own name, which the server selects. Browsers cannot set headers
 * on a WebSocket; they can offer subprotocols. JWT characters are all legal there.
 */
export const WsAuth = { subprotocol: 'warbler', tokenPrefix: 'warbler.token.' } as const;
