import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { errorStatus, type ErrorBody } from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import { ResponseContractError } from './response-contract.ts';
import { openAiErrorBody } from '../gateway/index.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/index.ts';

/**
 * Every failure leaves as `{ error: { code, message } }` with the status that
 * fits. Validation failures name the field; unexpected errors are logged with
 * the request id and never shown to the client.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // A /v1 URL lands here only when no /v1 route matched (its routes have their own handler): answer as OpenAI would.
    const shaped = request.url.startsWith('/v1/') ? openAiShaped : warblerShaped;
    if (err instanceof WarblerError) {
      return reply.status(err.status).send(shaped(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const where = first ? `${err.validationContext ?? 'body'}${first.instancePath.replaceAll('/', '.')}` : 'request';
      const details = err.validation.map((v) => ({ path: `${err.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`, message: v.message }));
      return reply.status(400).send(shaped('bad_request', `Invalid ${where}: ${first?.message ?? 'bad value'}.`, details));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send(shaped('unsupported_media_type', 'Send JSON with Content-Type: application/json (or multipart/form-data for uploads).'));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE' || err.statusCode === 413) {
      return reply.status(413).send(shaped('payload_too_large', 'The request body is too large.'));
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.status(400).send(shaped('bad_request', 'The body is not valid JSON.'));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send(shaped(err.statusCode === 404 ? 'not_found' : 'bad_request', err.message));
    }
    if (err instanceof ResponseContractError) {
      // Strict mode only (tests, WARBLER_STRICT_RESPONSES=1): the reason is for the developer who broke the contract.
      request.log.error({ err }, 'response contract broken');
      return reply.status(500).send(shaped('internal', err.message));
    }
    if (isStoreUnavailable(err)) {
      request.log.warn({ err }, 'store unavailable');
      const unavailable = storeUnavailable();
      return reply.status(unavailable.status).header('retry-after', '2').send(shaped(unavailable.code, unavailable.message));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(shaped('internal', 'Something went wrong on the server; nothing was changed. Try again, and report the x-request-id if it persists.'));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `No route ${request.method} ${request.url.split('?')[0]}. See /openapi.json for the API.`;
    // OpenAI clients (a newer SDK calling a route we lack) read errors in their own shape.
    if (request.url.startsWith('/v1/')) reply.status(404).send(openAiErrorBody(404, message, 'invalid_request_error', 'not_found'));
    else reply.status(404).send(body('not_found', message));
  });
}

/**
 * Fastify's own refusals of a URL before any route runs (bad percent-encoding
 * such as %ff, a path parameter over maxParamLength): without this they leave
 * in Fastify's shape, which no client of ours parses. Ours on /api, OpenAI's on /v1.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // No id is that long, so nothing is there: the same 404 as any unknown path, whether or not a
  // catch-all route (the web app's files, present only once it is built) saw the URL first.
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const message = `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}…: a path segment is too long (ids are at most 128 characters).`;
    if (request.url.startsWith('/v1/')) void reply.status(404).send(openAiErrorBody(404, message, 'invalid_request_error', 'not_found'));
    else void reply.status(404).send(body('not_found', message));
    return;
  }
  const message = 'The URL is not valid: percent-encode it as UTF-8 (%XX per byte) and try again.';
  if (err.code !== 'FST_ERR_BAD_URL') {
    request.log.error({ err }, 'router error');
    void reply.status(500).send(body('internal', 'Something went wrong on the server; nothing was changed. Try again, and report the x-request-id if it persists.'));
    return;
  }
  if (request.url.startsWith('/v1/')) void reply.status(400).send(openAiErrorBody(400, message, 'invalid_request_error'));
  else void reply.status(400).send(body('bad_request', message));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (URL and
 * headers over 16 KB, malformed HTTP, too slow to arrive). Fastify's default
 * answer has neither our shape nor OpenAI's; this body is both at once, since
 * the route, and so which shape the client expects, is not known yet.
 */
export function clientErrors(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', 'The URL and headers are too large (at most 16 KB together); shorten them, and send long values in a JSON body.']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'The request took too long to arrive; send it again.']
      : [400, 'Bad Request', 'The request is not valid HTTP/1.1.'];
  const json = JSON.stringify({ error: { code: 'bad_request', message, type: 'invalid_request_error', param: null } });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${json}`);
  socket.destroy(err);
}

function body(code: ErrorBody['error']['code'], message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

const warblerShaped = body;

function openAiShaped(code: ErrorBody['error']['code'], message: string, _details?: unknown): ReturnType<typeof openAiErrorBody> {
  return openAiErrorBody(errorStatus[code], message, code === 'internal' || code === 'unavailable' ? 'server_error' : 'invalid_request_error', code);
}
