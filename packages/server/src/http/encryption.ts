import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppEncryptionStatus, EncryptionOverview } from '@warbler/protocol';
import { z } from 'zod';
import type { AtRest } from '../at-rest/index.ts';
import { badRequest } from '../errors.ts';
import type { HttpDeps } from './deps.ts';

const AppParams = z.object({ appId: z.string().min(1).max(200) });

/** Operator calls, with the master key: encryption at rest, key rotation and its progress. */
export const encryptionRoutes = (deps: HttpDeps, atRest: AtRest): FastifyPluginAsyncZod => async (app) => {
  app.addHook('preHandler', async (request) => deps.guards.operator(request));

  app.get('/admin/encryption', {
    schema: { tags: ['admin'], summary: 'Encryption at rest: the key source and every app\'s key versions and re-sealing progress', response: { 200: EncryptionOverview } },
  }, async () => ({
    enabled: atRest.enabled,
    key_source: atRest.keySource,
    key_id: atRest.keyId,
    apps: atRest.enabled ? await Promise.all((await deps.apps.list()).map((a) => atRest.status(a.id))) : [],
  }));

  app.get('/admin/apps/:appId/encryption', {
    schema: { tags: ['admin'], summary: 'One app\'s data key versions and re-sealing progress', params: AppParams, response: { 200: AppEncryptionStatus } },
  }, async (request) => {
    await deps.apps.get(request.params.appId);
    if (!atRest.enabled) throw badRequest('Encryption at rest is off (WARBLER_ENCRYPTION=off).');
    return atRest.status(request.params.appId);
  });

  app.post('/admin/apps/:appId/encryption/rotate', {
    schema: {
      tags: ['admin'],
      summary: 'New data key version for an app; its rows and files are re-sealed in the background (reads work throughout)',
      params: AppParams,
      response: { 202: AppEncryptionStatus },
    },
  }, async (request, reply) => {
    await deps.apps.get(request.params.appId);
    if (!atRest.enabled) throw badRequest('Encryption at rest is off (WARBLER_ENCRYPTION=off): there is no key to rotate.');
    return reply.status(202).send(await atRest.rotate(request.params.appId));
  });
};
