import type { FastifyInstance } from 'fastify';
import { WarblerError } from '../errors.ts';
import { parseBoundedJson } from '../json-shape.ts';

/**
 * Replaces Fastify's JSON parser with one that also bounds the body's shape
 * (depth, size in values, no NUL), so every route — /v1 included — refuses a
 * hostile body with 400 before any handler, validator or serializer walks it.
 * The refusal is a WarblerError; /v1's error handler turns it into the
 * OpenAI shape.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(new WarblerError('bad_request', 'The body is empty; send a JSON object.'), undefined);
    const parsed = parseBoundedJson(text);
    if (parsed.ok) return done(null, parsed.value);
    done(new WarblerError('bad_request', parsed.reason === 'syntax' ? 'The body is not valid JSON.' : `The body was refused: ${parsed.message}`), undefined);
  });
  // Path and query parameters reach the stores as text too; PostgreSQL cannot hold NUL in text.
  app.addHook('onRequest', (request, _reply, done) => {
    if (/%00/.test(request.url)) return done(new WarblerError('bad_request', 'The URL may not contain NUL (%00) characters.'));
    done();
  });
}
