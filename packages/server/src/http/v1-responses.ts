// The Responses API routes: create (JSON or SSE), retrieve, cancel, delete,
// input items. Like the chat route, no zod: the body is checked by hand in
// gateway/responses/request.ts, and the call takes the same admission,
// limits and ledger path as /v1/chat/completions.
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { countPrompt, toOpenAiError, type Admission, type Gateway, type GatewayCaller } from '../gateway/index.ts';
import { ResponseEventWriter, responseObject, type PreparedResponse, type Responses } from '../gateway/responses/index.ts';
import { linkAbort, quickPromptTokens } from '../llm/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { drained, sseHeaders, type V1RouteKit } from './v1-kit.ts';

const ROUTE = '/v1/responses';
const ms = (n: number) => (n > 0 ? n : 0).toFixed(3);
const CANCELLED = { code: 'response_cancelled', message: 'The response was cancelled (POST /v1/responses/{id}/cancel) before it finished.', type: 'invalid_request_error', param: null };

export interface ResponsesRouteDeps {
  gateway: Gateway;
  responses: Responses;
  metrics?: Metrics;
  bodyLimit: number;
}

type IdParams = { Params: { id: string } };

export const responsesRoutes = (deps: ResponsesRouteDeps, kit: V1RouteKit): FastifyPluginAsync => async (app) => {
  const { gateway, responses } = deps;
  const tags = ['gateway'];

  app.post(ROUTE, { bodyLimit: deps.bodyLimit, schema: { tags, summary: 'OpenAI Responses: create (JSON or SSE stream), translated to chat completions for every provider' } }, async (request, reply) => {
    const who = await kit.caller(request);
    await kit.holdSlot(who, reply);
    const prepared = await responses.prepare(who, request.body);
    kit.logBody(request, who);
    const req = prepared.chat.request;
    const admission = await gateway.admit(who, req.model, () => countPrompt(req), () => quickPromptTokens(req), req);
    return prepared.body.stream ? stream(request, reply, who, prepared, admission, kit.abortOnClose(reply)) : json(reply, who, prepared, admission);
  });

  /**
   * Stores a finished response; a store that fails does not take the answer
   * from the client, who was billed for it: it is logged, and a later
   * previous_response_id to it gets the 404 that says it was not kept.
   */
  async function keep(request: FastifyRequest, prepared: PreparedResponse, who: GatewayCaller, response: Record<string, unknown>, json?: string): Promise<void> {
    try {
      await responses.keep(prepared, who, response, json);
    } catch (err) {
      request.log.error({ err, response_id: prepared.head.id }, 'a finished response could not be stored; it was sent to the client');
    }
  }

  async function json(reply: FastifyReply, who: GatewayCaller, prepared: PreparedResponse, admission: Admission) {
    // Stops when the client leaves or a cancel comes; the router follows it by itself, and an AbortSignal
    // (an EventTarget, ~1.5 % of a call's CPU) is made only if output moderation asks for one.
    const stop = linkAbort(kit.clientStop(reply));
    const run = responses.track(who, prepared, stop, (status) => responseObject(prepared.head, status, [], null));
    try {
      const answer = await gateway.complete(who, prepared.chat, admission, { stop, get signal() { return stop.signal; } });
      const body = responses.finishJson(prepared, answer.body);
      // Serialised once: the client gets the text the store keeps.
      const text = JSON.stringify(body);
      await keep(reply.request, prepared, who, body, text);
      return kit.sendJson(reply, ROUTE, text, answer.upstreamMs, admission.headers, answer.deployment);
    } catch (err) {
      if (!run.cancelled) throw err;
      const body = responseObject(prepared.head, 'cancelled', [], null);
      await keep(reply.request, prepared, who, body);
      return kit.sendJson(reply, ROUTE, body, 0, admission.headers, null);
    } finally {
      run.end();
      stop.dispose();
    }
  }

  async function stream(request: FastifyRequest, reply: FastifyReply, who: GatewayCaller, prepared: PreparedResponse, admission: Admission, abort: AbortController) {
    const writer = new ResponseEventWriter(prepared.head);
    const run = responses.track(who, prepared, abort, (status) => writer.snapshot(status));
    let opened;
    try {
      // Errors until the first output leave as JSON with their status, as on the chat route.
      opened = await gateway.openStream(who, prepared.chat, admission, abort.signal);
    } catch (err) {
      run.end();
      if (!run.cancelled) throw err;
      const body = writer.snapshot('cancelled');
      await keep(request, prepared, who, body);
      return kit.sendJson(reply, ROUTE, body, 0, admission.headers, null);
    }
    const preUpstream = reply.elapsedTime - (performance.now() - opened.upstreamStart);
    deps.metrics?.gatewayOverhead(ROUTE, preUpstream / 1000);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, sseHeaders(admission.headers, request.id, ms(preUpstream), opened.deployment || null));
    res.write(writer.opening());
    try {
      let part = opened.first;
      for (;;) {
        if (part.type === 'error') {
          // A client that left is told nothing and nothing is kept; a cancel is kept as cancelled.
          if (abort.signal.aborted && !run.cancelled) break;
          const failed = run.cancelled ? writer.fail(CANCELLED, part.usage ?? null, 'cancelled') : writer.fail(toOpenAiError(part.error).toJSON().error, part.usage ?? null);
          await keep(request, prepared, who, failed.response, failed.json);
          res.write(failed.text);
          break;
        }
        if (part.type === 'finish') {
          const done = writer.finish(part.finishReason, part.usage);
          // Kept before the client hears it is done, so its next turn finds it.
          await keep(request, prepared, who, done.response, done.json);
          res.write(done.text);
          break;
        }
        const text = writer.part(part);
        if (text && !res.write(text)) await drained(res);
        const next = await opened.parts.next();
        if (next.done) break;
        part = next.value;
      }
    } catch (err) {
      request.log.error({ err }, 'responses stream failed after its first event');
    } finally {
      run.end();
      await opened.parts.return(undefined);
      res.end();
    }
  }

  app.get<IdParams>(`${ROUTE}/:id`, { schema: { tags, summary: 'A stored response (or one still running on this node)' } }, async (request) => {
    const who = await kit.caller(request);
    return responses.retrieve(who, request.params.id);
  });

  app.post<IdParams>(`${ROUTE}/:id/cancel`, { schema: { tags, summary: 'Stops a response still running on this node' } }, async (request) => {
    const who = await kit.caller(request);
    return responses.cancel(who, request.params.id);
  });

  app.delete<IdParams>(`${ROUTE}/:id`, { schema: { tags, summary: 'Deletes a stored response' } }, async (request) => {
    const who = await kit.caller(request);
    return responses.delete(who, request.params.id);
  });

  app.get<IdParams & { Querystring: Record<string, unknown> }>(`${ROUTE}/:id/input_items`, { schema: { tags, summary: "A stored response's input items" } }, async (request) => {
    const who = await kit.caller(request);
    return responses.inputItems(who, request.params.id, request.query);
  });
};
