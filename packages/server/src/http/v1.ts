// The OpenAI-compatible /v1 routes. No zod here: bodies are checked by hand
// (gateway/validate.ts) and answers are strings we build or relay, because
// this path is benchmarked at 1,000 requests/s with ≤ 2 ms of our own p99.
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import {
  ChunkWriter,
  countEmbeddingTokens,
  countPrompt,
  invalidRequest,
  OpenAiError,
  parseChatBody,
  parseEmbeddingsBody,
  toOpenAiError,
  type Gateway,
  type GatewayCaller,
} from '../gateway/index.ts';
import { InterventionNotes } from '../guardrails/index.ts';
import { isLlmError, quickPromptTokens, StopSource } from '../llm/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { MediaCalls, Moderations } from '../gateway/index.ts';
import type { Responses } from '../gateway/responses/index.ts';
import type { GatewayKeysDeps } from './gateway-keys.ts';
import type { MetricsDeps } from './metrics.ts';
import { legacyCompletionRoutes } from './v1-completions.ts';
import type { V1RouteKit } from './v1-kit.ts';
import { audioRoutes } from './v1-audio.ts';
import { moderationRoutes } from './v1-moderations.ts';
import { rerankRoutes } from './v1-rerank.ts';
import { responsesRoutes } from './v1-responses.ts';

/** Everything the gateway's HTTP routes need; absent when a test builds the HTTP server without the gateway. */
export interface GatewayHttpDeps {
  v1: V1Deps;
  keys: GatewayKeysDeps;
  metrics?: MetricsDeps;
}

export interface V1Deps {
  gateway: Gateway;
  metrics?: Metrics;
  /** Log request bodies (WARBLER_LOG_BODIES); off by default: prompts are the users' data. */
  logBodies: boolean;
  /** Largest request body, bytes (images come inline as data: URLs). */
  bodyLimit: number;
  /** /v1/responses; absent: the routes are not served. */
  responses?: Responses;
  /** /v1/moderations; absent: the route is not served. */
  moderations?: Moderations;
  /** /v1/audio/* and /v1/rerank; absent: the routes are not served. */
  media?: MediaCalls;
  /** Largest audio upload, bytes (default 25 MiB). */
  maxAudioBytes?: number;
}

let streamSeq = 0;
const streamBase = Date.now().toString(36);

/** Ms with microseconds: what x-warbler-overhead-ms carries. */
const ms = (n: number) => (n > 0 ? n : 0).toFixed(3);

export const v1Routes = (deps: V1Deps): FastifyPluginAsync => async (app) => {
  const { gateway, metrics } = deps;

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = openAiErrorOf(err);
    if (isLlmError(err) && err.kind === 'internal') {
      // Our fault, not upstream's: the client got a bare 500; the cause (a stack overflow, a bug) is for the log.
      request.log.error({ err: err.cause ?? err, deployment: err.deployment }, `gateway failed calling the model: ${err.message}`);
    } else if (isLlmError(err)) {
      if (e.status >= 500) request.log.warn({ kind: err.kind, deployment: err.deployment, status: err.status }, `upstream failed: ${err.message}`);
    } else if (e.status >= 500 && !(err instanceof OpenAiError)) request.log.error({ err }, 'gateway error');
    if (e.headers) reply.headers(e.headers);
    return reply.status(e.status).send(e.toJSON());
  });

  const caller = async (request: FastifyRequest): Promise<GatewayCaller> => {
    const who = await gateway.authenticateRequest(request);
    // The call's guardrail interventions go into its request line (http/index.ts) instead of a line of their own.
    who.guardrails = request.guardrails ??= new InterventionNotes();
    return who;
  };

  /** Logs a body once validate.ts has bounded its shape (the logger's serializer recurses too). */
  function logBody(request: FastifyRequest, who: GatewayCaller): void {
    if (deps.logBodies) request.log.info({ body: request.body, key_id: who.key?.id ?? null }, 'gateway request body');
  }

  /**
   * One watch and one 'close' listener per request, shared by holdSlot and
   * abortOnClose (two of each were ~2 % of a /v1 request's CPU). It aborts
   * when the response closes before it was all written: the client left,
   * while waiting for its turn or for its answer.
   */
  const watches = new WeakMap<FastifyReply, ClientWatch>();
  function watchClient(reply: FastifyReply): ClientWatch {
    const known = watches.get(reply);
    if (known) return known;
    const w = new ClientWatch();
    watches.set(reply, w);
    const res = reply.raw;
    res.once('close', () => {
      // Every response closes when it is over; only an unfinished one means the client left
      // (aborting builds a DOMException with a stack: 3 % of the gateway's CPU when done for every request).
      if (!res.writableFinished) {
        w.abort();
        // No request line comes for a response cut short (Fastify writes it once the response is sent): the call's guardrail interventions get one of their own.
        const fired = reply.request.guardrails?.take();
        if (fired) reply.request.log[fired.blocked ? 'warn' : 'info']({ guardrails: fired.guardrails }, 'guardrail interventions of a request its client left');
      }
      w.release?.();
    });
    return w;
  }

  /** Counts the call against its key's running cap (a 429 when no turn comes) until the response is over or the client has gone. */
  async function holdSlot(who: GatewayCaller, reply: FastifyReply): Promise<void> {
    const watch = watchClient(reply);
    const held = await gateway.enter(who, watch);
    // A client that left while waiting for its turn gives the slot back at once.
    if (watch.aborted) held();
    else watch.release = held;
  }

  /** Aborts the upstream call when the client goes away before its answer is complete. */
  function abortOnClose(reply: FastifyReply): AbortController {
    return watchClient(reply).controller();
  }

  function sendJson(reply: FastifyReply, route: string, body: unknown, upstreamMs: number, headers: Record<string, string>, deployment: string | null) {
    // Serialised here, so the overhead below covers it too; a string is upstream's JSON, relayed as it came.
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const overhead = reply.elapsedTime - upstreamMs;
    metrics?.gatewayOverhead(route, overhead / 1000);
    headers['content-type'] = 'application/json';
    if (deployment) headers['x-warbler-deployment'] = deployment;
    headers['x-warbler-overhead-ms'] = ms(overhead);
    return reply.headers(headers).send(text);
  }

  app.post('/v1/chat/completions', { bodyLimit: deps.bodyLimit, schema: { tags: ['gateway'], summary: 'OpenAI chat completions (JSON or SSE stream); Bearer: a virtual key or the master key' } }, async (request, reply) => {
    const who = await caller(request);
    await holdSlot(who, reply);
    const chat = parseChatBody(request.body);
    logBody(request, who);
    const admission = await gateway.admit(who, chat.request.model, () => countPrompt(chat.request), () => quickPromptTokens(chat.request), chat.request);
    if (!chat.stream) {
      // The router follows the watch itself; an AbortSignal is made only if output moderation asks for one.
      const watch = watchClient(reply);
      const answer = await gateway.complete(who, chat, admission, { stop: watch, get signal() { return watch.signal; } });
      return sendJson(reply, '/v1/chat/completions', answer.text ?? answer.body, answer.upstreamMs, admission.headers, answer.deployment);
    }
    const abort = abortOnClose(reply);

    // Errors until here leave as JSON with their status, as OpenAI's do; from the first byte on, inside the stream.
    const opened = await gateway.openStream(who, chat, admission, abort.signal);
    const preUpstream = reply.elapsedTime - (performance.now() - opened.upstreamStart);
    metrics?.gatewayOverhead('/v1/chat/completions', preUpstream / 1000);
    const headers = admission.headers;
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    headers.connection = 'keep-alive';
    headers['x-request-id'] = request.id;
    headers['x-warbler-overhead-ms'] = ms(preUpstream);
    if (opened.deployment) headers['x-warbler-deployment'] = opened.deployment;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, headers);
    const writer = new ChunkWriter(`chatcmpl-s${streamBase}${(++streamSeq).toString(36)}`, opened.model, Math.floor(Date.now() / 1000), chat.includeUsage);
    try {
      let part = opened.first;
      for (;;) {
        if (part.type === 'error') {
          // What the SDKs raise as an APIError mid-stream; no [DONE] after it.
          if (!abort.signal.aborted) res.write(`data: ${JSON.stringify(toOpenAiError(part.error).toJSON())}\n\n`);
          break;
        }
        const text = writer.part(part);
        if (text && !res.write(text)) await drained(res);
        if (part.type === 'finish') break;
        const next = await opened.parts.next();
        if (next.done) break;
        part = next.value;
      }
    } finally {
      // Ends the router's call however the loop left (settles the key's tokens, records the attempt).
      await opened.parts.return(undefined);
      res.end();
    }
  });

  app.post('/v1/embeddings', { bodyLimit: deps.bodyLimit, schema: { tags: ['gateway'], summary: 'OpenAI embeddings (float or base64)' } }, async (request, reply) => {
    const who = await caller(request);
    await holdSlot(who, reply);
    const body = parseEmbeddingsBody(request.body);
    logBody(request, who);
    const admission = await gateway.admit(who, body.model, () => countEmbeddingTokens(body.input));
    const abort = abortOnClose(reply);
    const answer = await gateway.embed(who, body, admission, { signal: abort.signal });
    return sendJson(reply, '/v1/embeddings', answer.body, answer.upstreamMs, admission.headers, answer.deployment);
  });

  // Responses, legacy completions and moderations live in their own files; registered here, they answer errors in OpenAI's shape too.
  const kit: V1RouteKit = { caller, holdSlot, abortOnClose, clientStop: watchClient, sendJson, logBody };
  if (deps.responses) await app.register(responsesRoutes({ gateway, responses: deps.responses, bodyLimit: deps.bodyLimit, ...(metrics ? { metrics } : {}) }, kit));
  await app.register(legacyCompletionRoutes({ gateway, bodyLimit: deps.bodyLimit }, kit));
  if (deps.moderations) await app.register(moderationRoutes({ gateway, moderations: deps.moderations }, kit));
  if (deps.media) {
    const audio = { media: deps.media, bodyLimit: deps.bodyLimit, ...(deps.maxAudioBytes ? { maxAudioBytes: deps.maxAudioBytes } : {}), ...(metrics ? { metrics } : {}) };
    await app.register(audioRoutes(audio, kit));
    await app.register(rerankRoutes({ media: deps.media, bodyLimit: deps.bodyLimit }, kit));
  }

  app.get('/v1/models', { schema: { tags: ['gateway'], summary: 'The models this key may use' } }, async (request) => {
    const who = await caller(request);
    return { object: 'list', data: gateway.models(who).map(modelObject) };
  });

  app.get<{ Params: { model: string } }>('/v1/models/:model', { schema: { tags: ['gateway'], summary: 'One model, if this key may use it' } }, async (request) => {
    const who = await caller(request);
    // Already decoded by the router (local%2Fkb-answer arrives as local/kb-answer); decoding again threw on any %.
    const model = request.params.model;
    if (!gateway.models(who).includes(model)) {
      throw new OpenAiError(404, `The model \`${model}\` does not exist or this key may not use it.`, 'invalid_request_error', 'model_not_found', 'model');
    }
    return modelObject(model);
  });
};

/**
 * Whether a /v1 request's client is still there: a StopSource, which the
 * router and the key's turn follow, rather than an AbortController, whose
 * AbortSignal (an EventTarget) was ~1.5 % of a non-streaming call's CPU.
 * A real AbortController, following the watch, is made for what needs one
 * (streams, output moderation, the other /v1 routes).
 */
class ClientWatch extends StopSource {
  /** Gives the key's running slot back; set once the call has one. */
  release: (() => void) | undefined = undefined;
}

const CREATED = Math.floor(Date.UTC(2024, 0, 1) / 1000);
const modelObject = (id: string) => ({ id, object: 'model', created: CREATED, owned_by: 'warbler' });

/** Resolves when the socket can take more, or has closed (the loop then sees the abort). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) in OpenAI's shape. */
function openAiErrorOf(err: FastifyError): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) return new OpenAiError(413, 'The request body is too large.', 'invalid_request_error', 'request_too_large');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new OpenAiError(415, 'Send JSON with Content-Type: application/json.', 'invalid_request_error');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
    return invalidRequest('We could not parse the JSON body of your request.');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return new OpenAiError(err.statusCode, err.message, 'invalid_request_error');
  return toOpenAiError(err);
}
