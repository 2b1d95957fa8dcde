import { Experiment, ExperimentCreate, ExperimentList, ExperimentListQuery, ExperimentReportQuery, ExperimentStop, SwitchingReport } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { reportCsv, type Experiments } from '../experiments/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ experimentId: z.string().min(1).max(128) });

/** Model experiments: the operator (console) or the app's backend starts, watches and stops them. */
export const experimentRoutes = (deps: HttpDeps, experiments: Experiments): FastifyPluginAsyncZod => async (app) => {
  app.post('/api/experiments', {
    schema: { tags: ['experiments'], summary: 'Start a shadow run or an A/B split of an agent\'s traffic', body: ExperimentCreate, response: { 201: Experiment } },
  }, async (request, reply) => reply.status(201).send(await experiments.create(await deps.guards.app(request), request.body)));

  app.get('/api/experiments', {
    schema: { tags: ['experiments'], summary: 'List experiments, newest first', querystring: ExperimentListQuery, response: { 200: ExperimentList } },
  }, async (request) => ({ experiments: await experiments.list(await deps.guards.app(request), request.query.agent_id) }));

  app.get('/api/experiments/:experimentId', { schema: { tags: ['experiments'], summary: 'One experiment', params: Params, response: { 200: Experiment } } },
    async (request) => experiments.get(await deps.guards.app(request), request.params.experimentId));

  app.post('/api/experiments/:experimentId/stop', {
    schema: { tags: ['experiments'], summary: 'Stop an experiment, or one candidate of it (the kill switch)', params: Params, body: ExperimentStop, response: { 200: Experiment } },
  }, async (request) => experiments.stop(await deps.guards.app(request), request.params.experimentId, request.body));

  app.get('/api/experiments/:experimentId/report', {
    schema: { tags: ['experiments'], summary: 'The switching report, as JSON or CSV', params: Params, querystring: ExperimentReportQuery,
      response: { 200: SwitchingReport } },
  }, async (request, reply) => {
    const report = await experiments.report(await deps.guards.app(request), request.params.experimentId, request.query.locale);
    if (request.query.format === 'json') return report;
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="experiment-${request.params.experimentId.replace(/[^A-Za-z0-9_-]/g, '')}.csv"`)
      // Text, sent as it is: only the JSON report goes through the response schema.
      .send(reportCsv(report) as never);
  });
};
