import { AppList, AppSecret, CreateAppBody, CreatedApp } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpDeps } from './deps.ts';

/** Operator calls, with the master key: apps and their secrets. */
export const adminRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.addHook('preHandler', async (request) => deps.guards.operator(request));

  app.post('/admin/apps', {
    schema: { tags: ['admin'], summary: 'Create an app; its secret is shown only in this response', body: CreateAppBody, response: { 201: CreatedApp } },
  }, async (request, reply) => reply.status(201).send(await deps.apps.create(request.body.name)));

  app.get('/admin/apps', { schema: { tags: ['admin'], summary: 'List apps', response: { 200: AppList } } }, async () => ({ apps: await deps.apps.list() }));

  app.post('/admin/apps/:appId/secret', {
    schema: { tags: ['admin'], summary: 'Rotate an app secret; the old one stops working at once', params: z.object({ appId: z.string() }), response: { 200: AppSecret } },
  }, async (request) => ({ secret: await deps.apps.rotateSecret(request.params.appId) }));
};
