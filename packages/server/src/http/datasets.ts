import { Dataset, DatasetCreate, DatasetItemPage, DatasetPageQuery, DatasetList, DatasetResultPage, DatasetRun, DatasetRunCreate, DatasetRunList, NoContent } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Datasets } from '../datasets/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ datasetId: z.string().min(1).max(128) });
const RunParams = Params.extend({ runId: z.string().min(1).max(128) });
const Page = DatasetPageQuery;

/** Evaluation datasets: the operator (console) or the app's backend cuts them, runs them and exports them. */
export const datasetRoutes = (deps: HttpDeps, datasets: Datasets): FastifyPluginAsyncZod => async (app) => {
  const tags = ['datasets'];
  app.post('/api/datasets', {
    schema: { tags, summary: 'Make a dataset from an agent\'s conversations (filters: dates, thumbs, support outcome)', body: DatasetCreate, response: { 201: Dataset } },
  }, async (request, reply) => reply.status(201).send(await datasets.create(await deps.guards.app(request), request.body)));

  app.get('/api/datasets', { schema: { tags, summary: 'List datasets, newest first', response: { 200: DatasetList } } },
    async (request) => ({ datasets: await datasets.list(await deps.guards.app(request)) }));

  app.get('/api/datasets/:datasetId', { schema: { tags, summary: 'One dataset', params: Params, response: { 200: Dataset } } },
    async (request) => datasets.get(await deps.guards.app(request), request.params.datasetId));

  app.delete('/api/datasets/:datasetId', { schema: { tags, summary: 'Delete a dataset with its items and runs', params: Params, response: { 204: NoContent } } },
    async (request, reply) => {
      await datasets.delete(await deps.guards.app(request), request.params.datasetId);
      return reply.status(204).send(null);
    });

  app.get('/api/datasets/:datasetId/items', { schema: { tags, summary: 'A page of a dataset\'s items (context and reference answer)', params: Params, querystring: Page, response: { 200: DatasetItemPage } } },
    async (request) => datasets.items(await deps.guards.app(request), request.params.datasetId, request.query));

  app.post('/api/datasets/:datasetId/runs', {
    schema: { tags, summary: 'Replay the dataset against a routed model (and a judge), on the run\'s own budget', params: Params, body: DatasetRunCreate, response: { 202: DatasetRun } },
  }, async (request, reply) => reply.status(202).send(await datasets.run(await deps.guards.app(request), request.params.datasetId, request.body)));

  app.get('/api/datasets/:datasetId/runs', { schema: { tags, summary: 'The dataset\'s runs with their summaries, newest first', params: Params, response: { 200: DatasetRunList } } },
    async (request) => ({ runs: await datasets.runs(await deps.guards.app(request), request.params.datasetId) }));

  app.get('/api/datasets/:datasetId/runs/:runId', { schema: { tags, summary: 'One run and its summary', params: RunParams, response: { 200: DatasetRun } } },
    async (request) => datasets.getRun(await deps.guards.app(request), request.params.datasetId, request.params.runId));

  app.get('/api/datasets/:datasetId/runs/:runId/results', { schema: { tags, summary: 'A page of a run\'s results, per item', params: RunParams, querystring: Page, response: { 200: DatasetResultPage } } },
    async (request) => datasets.results(await deps.guards.app(request), request.params.datasetId, request.params.runId, request.query));

  app.get('/api/datasets/:datasetId/export', {
    config: { responseContract: 'raw' },
    schema: { tags, summary: 'The good items (thumbs-up or resolved by the AI) as OpenAI fine-tuning JSONL, personal data masked', params: Params },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    const id = request.params.datasetId;
    // Read whole before answering: a failure then is a clean error, and a dataset holds at most 1,000 items.
    const lines: string[] = [];
    for await (const line of datasets.exportLines(appId, id)) lines.push(line);
    return reply
      .header('content-type', 'application/jsonl; charset=utf-8')
      .header('content-disposition', `attachment; filename="dataset-${id.replace(/[^A-Za-z0-9_-]/g, '')}.jsonl"`)
      .send(lines.join(''));
  });
};
