import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { adminRoutes } from './admin.ts';
import { encryptionRoutes } from './encryption.ts';
import { auditRoutes, registerAuditTrail } from './audit.ts';
import { guardrailRoutes } from './guardrails.ts';
import type { InterventionNotes } from '../guardrails/index.ts';
import { agentRoutes } from './agents.ts';
import { experimentRoutes } from './experiments.ts';
import { datasetRoutes } from './datasets.ts';
import { fineTuningRoutes } from './v1-fine-tuning.ts';
import { conversationRoutes } from './conversations.ts';
import { messageSearchRoutes } from './message-search.ts';
import { reactionRoutes } from './reactions.ts';
import { citationRoutes } from './citations.ts';
import { memberPrefsRoutes } from './member-prefs.ts';
import type { HttpDeps } from './deps.ts';
import { clientErrors, frameworkErrors, registerErrorHandling } from './errors.ts';
import { registerJsonBody } from './json-body.ts';
import { fileRoutes } from './files.ts';
import { registerResponseContract } from './response-contract.ts';
import { gatewayKeyRoutes } from './gateway-keys.ts';
import { knowledgeRoutes } from './knowledge.ts';
import { knowledgeFaqRoutes } from './knowledge-faqs.ts';
import { knowledgeUploadRoutes } from './knowledge-uploads.ts';
import { redactUrl } from './log-url.ts';
import { metricsRoutes, observeHttp } from './metrics.ts';
import { privacyRoutes } from './privacy.ts';
import { providerRoutes } from './providers.ts';
import { usageRoutes, type UsageDeps } from './usage.ts';
import { userRoutes } from './users.ts';
import { v1Routes } from './v1.ts';
import { batchRoutes } from './v1-batches.ts';
import { webAppRoutes } from './web-app.ts';
import { webhookRoutes } from './webhooks.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A /v1 call's guardrail interventions, told in its request line (v1.ts sets it; null elsewhere). */
    guardrails: InterventionNotes | null;
  }
}

export { Guards } from './auth.ts';
export type { HttpDeps } from './deps.ts';
export { routeContracts, REST_PREFIXES, type RouteContract } from './response-contract.ts';
export type { GatewayHttpDeps } from './v1.ts';
export { webAppDeps, type WebAppDeps } from './web-app.ts';
export { defaultWebDist } from './web.ts';

/** Log destinations still open; one exit hook flushes them all (a hook per server would pile up in tests). */
const openLogs = new Set<{ flushSync(): void }>();
let exitHooked = false;

/**
 * Standard output, buffered: lines leave in writes of 4 KB or more, at least
 * once a second, and at once on close or exit. One write per line cost a
 * measurable share of a gateway core at 1,000 requests/s.
 */
function logDestination(): { write(line: string): void; close(): void } {
  const out = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const flushEverySecond = setInterval(() => out.flush(), 1000).unref();
  openLogs.add(out);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const o of openLogs) {
        try {
          o.flushSync();
        } catch {
          // Exiting anyway; a destination that cannot write now never will.
        }
      }
    });
  }
  return {
    write: (line) => out.write(line),
    close() {
      clearInterval(flushEverySecond);
      openLogs.delete(out);
      try {
        out.flushSync();
      } catch {
        // Closing: nothing left to tell anyone.
      }
    },
  };
}

export interface HttpOptions {
  logLevel: string;
  version: string;
  /** Where the log's lines go instead of standard output (tests read them). */
  logTo?: { write(line: string): void } | undefined;
}

/** The Fastify app with every REST route; the OpenAPI document comes from the same zod schemas that validate. */
export async function buildHttp(deps: HttpDeps, options: HttpOptions, usage?: UsageDeps): Promise<FastifyInstance> {
  const logs = options.logLevel === 'silent' ? undefined : options.logTo ? { write: (line: string) => options.logTo!.write(line), close() {} } : logDestination();
  const app = Fastify({
    logger: logs ? { level: options.logLevel, redact: ['req.headers.authorization'], stream: logs } : false,
    // One line per request (below) instead of Fastify's two: at gateway rates the log is a measurable share of CPU.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 128 ? req.headers['x-request-id'] : randomUUID()),
    bodyLimit: 1024 * 1024,
    // Ids are up to 128 characters (Id in the protocol), 3 bytes each once percent-encoded; Fastify's default of 100 refused real ones.
    routerOptions: { maxParamLength: 400 },
    frameworkErrors,
    clientErrorHandler: clientErrors,
    // Sockets of the WebSocket endpoint are closed by the realtime gateway, not by Fastify.
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  registerResponseContract(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.decorateRequest('guardrails', null);
  app.addHook('onResponse', (request, reply, done) => {
    // Probes and scrapes every few seconds would drown the log at info.
    const quiet = request.url === '/healthz' || request.url === '/metrics';
    // A /v1 call's guardrail interventions are told here, at warn when one blocked, not in a second line.
    const fired = request.guardrails?.take();
    const url = redactUrl(request.url);
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    if (fired) {
      // Built whole and logged by name: no spread copy of the plain line, no level looked up by a computed key.
      const line = { method: request.method, url, status: reply.statusCode, ms, guardrails: fired.guardrails };
      if (fired.blocked) request.log.warn(line, 'request');
      else request.log.info(line, 'request');
      return done();
    }
    const line = { method: request.method, url, status: reply.statusCode, ms };
    if (quiet) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
    done();
  });
  if (logs) app.addHook('onClose', (_instance, done) => {
    logs.close();
    done();
  });
  registerErrorHandling(app);
  registerJsonBody(app);
  // Before every route: a call from a page on another origin is answered only when its app allows that origin.
  if (deps.widget) app.addHook('onRequest', deps.widget.cors);
  if (deps.gateway?.metrics) observeHttp(app, deps.gateway.metrics.metrics);

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

  // Degraded is still 200: the node serves its own clients, so a balancer should keep sending them.
  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    if (!deps.isReady()) return reply.status(503).send({ status: 'unavailable' });
    const degraded = deps.degraded?.() ?? [];
    return degraded.length > 0 ? { status: 'degraded', degraded } : { status: 'ok' };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Before every route, so none escapes it (decision 0020).
  if (deps.audit) registerAuditTrail(app, deps, deps.audit);
  await app.register(adminRoutes(deps));
  await app.register(userRoutes(deps));
  await app.register(conversationRoutes(deps));
  if (deps.search) await app.register(messageSearchRoutes(deps, deps.search));
  if (deps.reactions) await app.register(reactionRoutes(deps, deps.reactions));
  await app.register(citationRoutes(deps));
  if (deps.memberPrefs) await app.register(memberPrefsRoutes(deps, deps.memberPrefs));
  await app.register(fileRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(knowledgeRoutes(deps));
  await app.register(knowledgeUploadRoutes(deps));
  await app.register(knowledgeFaqRoutes(deps));
  if (usage) await app.register(usageRoutes(deps, usage));
  if (deps.gateway) await app.register(v1Routes(deps.gateway.v1));
  if (deps.gateway) await app.register(gatewayKeyRoutes(deps, deps.gateway.keys));
  if (deps.gateway?.metrics) await app.register(metricsRoutes(deps, deps.gateway.metrics));
  if (deps.batches) await app.register(batchRoutes(deps.batches));
  if (deps.audit) await app.register(auditRoutes(deps, deps.audit));
  if (deps.interventions) await app.register(guardrailRoutes(deps, deps.interventions));
  if (deps.providers) await app.register(providerRoutes(deps, deps.providers));
  if (deps.privacy) await app.register(privacyRoutes(deps, deps.privacy));
  if (deps.widget) await app.register(deps.widget.routes);
  if (deps.webhooks) await app.register(webhookRoutes(deps, deps.webhooks));
  if (deps.support) await app.register(deps.support.routes(deps.guards));
  if (deps.experiments) await app.register(experimentRoutes(deps, deps.experiments));
  if (deps.datasets) await app.register(datasetRoutes(deps, deps.datasets));
  if (deps.fineTuning && deps.gateway) await app.register(fineTuningRoutes({ gateway: deps.gateway.v1.gateway, fineTuning: deps.fineTuning }));
  if (deps.encryption) await app.register(encryptionRoutes(deps, deps.encryption));
  // Last: it adds the web app's catch-all page route, which every API route above outranks anyway.
  if (deps.webApp) await app.register(webAppRoutes(deps, deps.webApp));
  return app;
}
