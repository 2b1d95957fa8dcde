import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics/index.ts';
import type { HttpDeps } from './deps.ts';

export interface MetricsDeps {
  metrics: Metrics;
  /** WARBLER_METRICS_PUBLIC: serve /metrics without the master key (a scraper on a private network). */
  public: boolean;
}

/**
 * Counts every answered request by route template and status, with its
 * duration. Added on the root instance before the routes, so it sees them all
 * (SSE streams included: onResponse runs when the hijacked response ends).
 */
export function observeHttp(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.raw.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

/** GET /metrics in Prometheus text format; the master key unless made public. */
export const metricsRoutes = (deps: HttpDeps, m: MetricsDeps): FastifyPluginAsync => async (app) => {
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!m.public) await deps.guards.operator(request);
    const text = await m.metrics.text();
    return reply.header('content-type', m.metrics.contentType).send(text);
  });
};
