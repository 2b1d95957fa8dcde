import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { adminRoutes } from './admin.ts';
import { agentRoutes } from './agents.ts';
import { conversationRoutes } from './conversations.ts';
import type { HttpDeps } from './deps.ts';
import { registerErrorHandling } from './errors.ts';
import { fileRoutes } from './files.ts';
import { knowledgeRoutes } from './knowledge.ts';
import { usageRoutes, type UsageDeps } from './usage.ts';
import { userRoutes } from './users.ts';

export { Guards } from './auth.ts';
export type { HttpDeps } from './deps.ts';

export interface HttpOptions {
  logLevel: string;
  version: string;
}

/** The Fastify app with every REST route; the OpenAPI document comes from the same zod schemas that validate. */
export async function buildHttp(deps: HttpDeps, options: HttpOptions, usage?: UsageDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel, redact: ['req.headers.authorization'] },
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 128 ? req.headers['x-request-id'] : randomUUID()),
    bodyLimit: 1024 * 1024,
    // Sockets of the WebSocket endpoint are closed by the realtime gateway, not by Fastify.
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Warbler API', version: options.version, description: 'Chat, users and conversations. Realtime protocol: docs/protocol.md.' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'App secret, user token, or master key' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) =>
    deps.isReady() ? { status: 'ok' } : reply.status(503).send({ status: 'unavailable' }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(adminRoutes(deps));
  await app.register(userRoutes(deps));
  await app.register(conversationRoutes(deps));
  await app.register(fileRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(knowledgeRoutes(deps));
  if (usage) await app.register(usageRoutes(deps, usage));
  return app;
}
