// POST /v1/rerank in the Jina/Cohere shape, for models whose provider reranks
// (Jina, Cohere, SiliconFlow, DashScope gte-rerank, any server with /rerank).
// Billed per search or per token, whichever the model's price is in.
import type { FastifyPluginAsync } from 'fastify';
import { parseRerank, rerankBody, type MediaCalls } from '../gateway/index.ts';
import { rerankTokens, searchesFor } from '../llm/index.ts';
import type { V1RouteKit } from './v1-kit.ts';

export const rerankRoutes = (deps: { media: MediaCalls; bodyLimit: number }, kit: V1RouteKit): FastifyPluginAsync => async (app) => {
  app.post('/v1/rerank', { bodyLimit: deps.bodyLimit, schema: { tags: ['gateway'], summary: 'Rerank documents against a query (Jina/Cohere shape); billed per search or per token' } }, async (request, reply) => {
    const who = await kit.caller(request);
    await kit.holdSlot(who, reply);
    const body = parseRerank(request.body);
    kit.logBody(request, who);
    const admission = await deps.media.admit(who, 'rerank', body.request.model, () => rerankTokens(body.request));
    const abort = kit.abortOnClose(reply);
    const answer = await deps.media.rerank(who, body, admission, abort.signal);
    const r = answer.result;
    const out = rerankBody(body, r, r.searches ?? searchesFor(body.request.documents.length), r.tokens ?? rerankTokens(body.request));
    return kit.sendJson(reply, '/v1/rerank', out, answer.upstreamMs, admission.headers, answer.deployment);
  });
};
