import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NoContent, ProviderInput, ProviderList, ProviderPatch, ProviderTestResult, ProviderTestRequest, ProviderView } from '@warbler/protocol';
import { z } from 'zod';
import type { ConsoleProviders } from '../settings/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ providerId: z.string().min(1).max(64) });

/**
 * Model providers, installation-wide like warbler.yaml's: operator calls (the
 * master key). Keys go in and never come out; answers show the last four
 * characters. warbler.yaml and environment providers are listed read-only.
 */
export const providerRoutes = (deps: HttpDeps, providers: ConsoleProviders): FastifyPluginAsyncZod => async (app) => {
  app.addHook('preHandler', async (request) => deps.guards.operator(request));

  app.get('/api/providers', {
    schema: { tags: ['providers'], summary: 'Providers: those added here (editable) and those from warbler.yaml and the environment (read-only)', response: { 200: ProviderList } },
  }, async () => ({ providers: await providers.list() }));

  app.post('/api/providers', {
    schema: { tags: ['providers'], summary: 'Add a provider; its models are routed at once, on every node', body: ProviderInput, response: { 201: ProviderView } },
  }, async (request, reply) => reply.status(201).send(await providers.create(request.body)));

  app.get('/api/providers/:providerId', {
    schema: { tags: ['providers'], summary: 'One provider added here', params: Params, response: { 200: ProviderView } },
  }, async (request) => providers.get(request.params.providerId));

  app.patch('/api/providers/:providerId', {
    schema: { tags: ['providers'], summary: 'Edit a provider; leave api_key out to keep the stored key', params: Params, body: ProviderPatch, response: { 200: ProviderView } },
  }, async (request) => providers.update(request.params.providerId, request.body));

  app.delete('/api/providers/:providerId', {
    schema: { tags: ['providers'], summary: 'Remove a provider; its models stop being routed (a configured route of the same name takes over)', params: Params, response: { 204: NoContent } },
  }, async (request, reply) => {
    await providers.remove(request.params.providerId);
    return reply.status(204).send(null);
  });

  app.post('/api/providers/:providerId/test', {
    schema: {
      tags: ['providers'], summary: 'One cheap call (a one-token completion) through the outbound policy: does the URL and key answer?',
      params: Params, body: ProviderTestRequest.optional(), response: { 200: ProviderTestResult },
    },
  }, async (request) => providers.test(request.params.providerId, request.body?.model));
};
