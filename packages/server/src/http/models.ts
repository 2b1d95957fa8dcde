import { ModelCatalog, ModelCheck, ModelCheckBody } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { badRequest } from '../errors.ts';
import { modelKindOf } from '../gateway/index.ts';
import { isLlmError } from '../llm/index.ts';
import type { HttpDeps } from './deps.ts';
import type { WebAppDeps } from './web-app.ts';

/**
 * Providers and models as the router runs them, for the console: which
 * deployments serve each model, their circuit state, the price, and a
 * one-token check. Keys are never part of the answer, only whether a
 * provider is configured at all.
 */
export const modelRoutes = (deps: HttpDeps, web: WebAppDeps): FastifyPluginAsyncZod => async (app) => {
  const { models } = web;

  app.get('/api/models', { schema: { tags: ['models'], summary: 'Models, their deployments and health, prices, and the configured providers', response: { 200: ModelCatalog } } }, async (request) => {
    await deps.guards.app(request);
    const health = new Map(models.router.health().map((h) => [h.deployment, h]));
    const routes = new Map(models.routes.map((r) => [r.model, r]));
    return {
      models: models.router.models().map((name) => {
        const route = routes.get(name);
        const price = models.price(name);
        return {
          name,
          // chat, embedding, transcription, speech or rerank: the agent form offers only chat models.
          kind: modelKindOf([name, ...(route?.deployments ?? []).map((d) => d.upstream_model)]),
          fallbacks: route?.fallbacks ?? [],
          deployments: (route?.deployments ?? []).map((d) => {
            const h = health.get(d.id);
            return { ...d, state: h?.state ?? 'closed', retry_in_ms: h?.retryInMs ?? 0, ...(h?.notBeforeMs !== undefined && { not_before_ms: h.notBeforeMs }) };
          }),
          price: price
            ? {
              currency: price.currency, effective_from: price.effectiveFrom,
              input_per_million: price.perMillion.input / 1e6,
              cached_input_per_million: (price.perMillion.cachedInput ?? price.perMillion.input) / 1e6,
              output_per_million: price.perMillion.output / 1e6,
              ...(price.note && { note: price.note }),
            }
            : null,
        };
      }),
      providers: models.providers,
    };
  });

  app.post('/api/models/check', {
    schema: { tags: ['models'], summary: 'Ask a model for one token to see that it answers (recorded in the ledger like any call)', body: ModelCheckBody, response: { 200: ModelCheck } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const { model } = request.body;
    if (!models.router.models().includes(model)) throw badRequest(`Model "${model}" is not configured. Configured: ${models.router.models().join(', ')}.`);
    const started = performance.now();
    try {
      const done = await models.router.complete(
        { model, messages: [{ role: 'user', content: 'Reply with the word OK.' }], max_tokens: 1 },
        { attemptTimeoutMs: 15_000, deadlineMs: 20_000, context: { app_id: appId, source: 'gateway', request_id: request.id } },
      );
      return { model, ok: true, latency_ms: Math.round(performance.now() - started), answered_by: done.model };
    } catch (err) {
      const error = isLlmError(err) ? { code: err.kind, message: err.message } : { code: 'internal', message: 'The check failed on the server.' };
      return { model, ok: false, latency_ms: Math.round(performance.now() - started), error };
    }
  });
};
