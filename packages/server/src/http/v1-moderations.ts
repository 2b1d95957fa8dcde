// POST /v1/moderations: OpenAI's moderation passed through when an OpenAI
// provider is configured, else Warbler's own rules (gateway/moderations.ts).
// Free calls: the key's RPM and running cap hold, nothing is billed.
import type { FastifyPluginAsync } from 'fastify';
import type { Gateway, Moderations } from '../gateway/index.ts';
import type { V1RouteKit } from './v1-kit.ts';

export const moderationRoutes = (deps: { gateway: Gateway; moderations: Moderations }, kit: V1RouteKit): FastifyPluginAsync => async (app) => {
  app.post('/v1/moderations', { schema: { tags: ['gateway'], summary: "OpenAI moderations: OpenAI's when configured, else this server's rules" } }, async (request, reply) => {
    const who = await kit.caller(request);
    await kit.holdSlot(who, reply);
    kit.logBody(request, who);
    const admission = await deps.gateway.admitUnbilled(who);
    const abort = kit.abortOnClose(reply);
    const t0 = performance.now();
    const body = await deps.moderations.moderate(who.appId, request.body, abort.signal);
    return kit.sendJson(reply, '/v1/moderations', body, deps.moderations.source === 'openai' ? performance.now() - t0 : 0, admission.headers, null);
  });
};
