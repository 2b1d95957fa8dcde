import { Agent as AgentView, AgentList, CreateAgentBody, NoContent } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { maskToolHeaders, type Agent } from '../agents/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ agentId: z.string().min(1) });
// Tool header values are secrets: shown masked ("••••1234"); sending a masked value back in a PATCH keeps the stored one.
const view = (a: Agent): AgentView => ({ id: a.id, app_id: a.app_id, ...a.config, tools: maskToolHeaders(a.config.tools), created_at: a.created_at, updated_at: a.updated_at });

/** Agents: created and edited by the app's backend or the operator (console). */
export const agentRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/api/agents', {
    schema: { tags: ['agents'], summary: 'Create an AI agent (it is also a user of kind agent)', body: CreateAgentBody, response: { 201: AgentView } },
  }, async (request, reply) => reply.status(201).send(view(await deps.agents.create(await deps.guards.app(request), request.body))));

  app.get('/api/agents', { schema: { tags: ['agents'], summary: 'List agents', response: { 200: AgentList } } }, async (request) => ({
    agents: (await deps.agents.list(await deps.guards.app(request))).map(view),
  }));

  app.get('/api/agents/:agentId', { schema: { tags: ['agents'], summary: 'One agent', params: Params, response: { 200: AgentView } } },
    async (request) => view(await deps.agents.get(await deps.guards.app(request), request.params.agentId)));

  app.patch('/api/agents/:agentId', {
    // The raw fields are merged onto the stored definition and the result validated whole:
    // a partial schema would fill defaults in and reset fields the caller did not send.
    schema: { tags: ['agents'], summary: 'Change an agent; fields left out stay', params: Params, body: z.record(z.string(), z.unknown()), response: { 200: AgentView } },
  }, async (request) => view(await deps.agents.update(await deps.guards.app(request), request.params.agentId, request.body)));

  app.delete('/api/agents/:agentId', { schema: { tags: ['agents'], summary: 'Remove an agent (it stops answering; its messages stay)', params: Params, response: { 204: NoContent } } },
    async (request, reply) => {
      await deps.agents.remove(await deps.guards.app(request), request.params.agentId);
      return reply.status(204).send(null);
    });
};
