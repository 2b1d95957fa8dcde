// What every /v1 route shares, built once in v1.ts (the plugin whose error
// handler answers in OpenAI's shape) and handed to the route files beside it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { GatewayCaller } from '../gateway/index.ts';
import type { StopSignal } from '../llm/index.ts';

export interface V1RouteKit {
  /** Authenticates the Bearer key (401 otherwise). */
  caller(request: FastifyRequest): Promise<GatewayCaller>;
  /** Counts the call against its key's running cap until the response is over. */
  holdSlot(who: GatewayCaller, reply: FastifyReply): Promise<void>;
  /** Aborts the upstream call when the client goes away before its answer is complete. */
  abortOnClose(reply: FastifyReply): AbortController;
  /** The same watch as a StopSignal (no AbortSignal made): for a call the router follows by itself. */
  clientStop(reply: FastifyReply): StopSignal;
  /** Sends a JSON answer with Warbler's headers (deployment, overhead) and records the overhead; a string body is JSON text already. */
  sendJson(reply: FastifyReply, route: string, body: unknown, upstreamMs: number, headers: Record<string, string>, deployment: string | null): FastifyReply;
  logBody(request: FastifyRequest, who: GatewayCaller): void;
}

/** Resolves when the socket can take more, or has closed (the loop then sees the abort). */
export function drained(res: ServerResponse): Promise<void> {
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

/** The headers of an SSE answer (the admission's rate-limit headers included). */
export function sseHeaders(headers: Record<string, string>, requestId: string, overheadMs: string, deployment: string | null): Record<string, string> {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-request-id'] = requestId;
  headers['x-warbler-overhead-ms'] = overheadMs;
  if (deployment) headers['x-warbler-deployment'] = deployment;
  return headers;
}
