import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { GuardrailInterventionPage, GuardrailInterventionQuery } from '@warbler/protocol';
import type { InterventionLog } from '../guardrails/index.ts';
import type { HttpDeps } from './deps.ts';

/** The console's view of guardrail interventions: the app's, newest first, filtered by action, rule, path and time. */
export const guardrailRoutes = (deps: HttpDeps, interventions: InterventionLog): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/guardrails/interventions', {
    schema: {
      tags: ['guardrails'],
      summary: 'Guardrail interventions of the app (blocked, masked, flagged, stripped), newest first; filter by action, rule, path and time; page with before',
      querystring: GuardrailInterventionQuery,
      response: { 200: GuardrailInterventionPage },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const q = request.query;
    const rows = await interventions.list(appId, {
      limit: q.limit, ...(q.action && { action: q.action }), ...(q.rule && { rule: q.rule }), ...(q.path && { path: q.path }),
      ...(q.since !== undefined && { since: q.since }), ...(q.until !== undefined && { until: q.until }), ...(q.before && { before: q.before }),
    });
    const last = rows[rows.length - 1];
    return {
      interventions: rows.map(({ app_id: _app, ...r }) => r),
      rules: await interventions.rules(appId),
      next_before: rows.length === q.limit && last ? last.id : null,
    };
  });
};
