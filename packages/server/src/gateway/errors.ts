import { WarblerError } from '../errors.ts';
import { LlmError } from '../llm/index.ts';

/** OpenAI's error body: what every /v1 failure looks like, so the official SDKs raise the right exception class. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A /v1 failure: the status picks the SDK's exception class (400 BadRequestError,
 * 401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError,
 * 429 RateLimitError, 5xx InternalServerError); `headers` go out with it
 * (retry-after on limits, x-should-retry: false where retrying cannot help).
 */
export class OpenAiError extends Error {
  override name = 'OpenAiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  toJSON(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function openAiErrorBody(status: number, message: string, type: string, code: string | null = null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new OpenAiError(400, message, 'invalid_request_error', code, param);

export const invalidApiKey = (message = 'Incorrect API key provided. Use a Warbler virtual key (wk-…) or the master key as the Bearer token.') =>
  new OpenAiError(401, message, 'invalid_request_error', 'invalid_api_key', null, { 'x-should-retry': 'false' });

export const modelNotFound = (model: string) =>
  new OpenAiError(404, `The model \`${model}\` does not exist on this gateway. GET /v1/models lists what your key may use.`, 'invalid_request_error', 'model_not_found', 'model');

export const modelNotAllowed = (model: string) =>
  new OpenAiError(403, `This API key may not use the model \`${model}\`. GET /v1/models lists what it may use; an operator can change the key's allowed models.`, 'permission_error', 'model_not_allowed', 'model');

/** An upstream failure the router could not get past, in OpenAI's words. */
export function fromLlmError(e: LlmError): OpenAiError {
  switch (e.kind) {
    case 'bad_request':
      return new OpenAiError(400, e.message, 'invalid_request_error', e.code ?? null);
    case 'not_found':
      return new OpenAiError(404, e.message, 'invalid_request_error', 'model_not_found', 'model');
    case 'rate_limited': {
      const headers: Record<string, string> = {};
      if (e.retryAfterMs !== undefined) {
        headers['retry-after-ms'] = String(Math.ceil(e.retryAfterMs));
        headers['retry-after'] = String(Math.ceil(e.retryAfterMs / 1000));
      }
      return new OpenAiError(429, e.message, 'upstream_rate_limit', 'rate_limit_exceeded', null, headers);
    }
    case 'aborted':
      return new OpenAiError(499, e.message, 'client_closed_request');
    case 'unavailable':
      return new OpenAiError(503, e.message, 'server_error', 'upstream_unavailable', null, e.retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.ceil(e.retryAfterMs / 1000)) });
    case 'timeout':
      return new OpenAiError(504, e.message, 'server_error', 'upstream_timeout');
    case 'internal':
      // Ours, not upstream's: a 500 with no detail (the cause is logged), like any other fault of the gateway.
      return internalFault();
    default:
      // auth, server, connection, cut_stream, malformed: the upstream failed us, not the client.
      return new OpenAiError(e.httpStatus, e.message, 'server_error', `upstream_${e.kind}`);
  }
}

/** Any error thrown on a /v1 path, as an OpenAiError; unknown errors become a 500 with no details. */
export function toOpenAiError(err: unknown): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (err instanceof LlmError) return fromLlmError(err);
  if (err instanceof WarblerError) {
    const details = err.details as { reason?: string } | undefined;
    if (details?.reason === 'budget_exceeded') {
      // OpenAI's spent quota: a 429 that retrying does not cure.
      return new OpenAiError(429, err.message, 'insufficient_quota', 'insufficient_quota', null, { 'x-should-retry': 'false' });
    }
    const type = err.status === 401 ? 'invalid_request_error' : err.status === 403 ? 'permission_error' : err.status >= 500 ? 'server_error' : 'invalid_request_error';
    return new OpenAiError(err.status, err.message, type, err.code);
  }
  return internalFault();
}

const internalFault = () =>
  new OpenAiError(500, 'Something went wrong in the gateway; nothing was billed. Try again, and report the x-request-id if it persists.', 'server_error');
