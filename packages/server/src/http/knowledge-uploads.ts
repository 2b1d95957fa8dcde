import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IngestJob, IngestJobList, KbImportRequest, KnowledgeSettings, KnowledgeSettingsSaved, NoContent, WebSource, WebSourceCreate, WebSourceList } from '@warbler/protocol';
import { z } from 'zod';
import type { HttpDeps } from './deps.ts';

const Kb = z.object({ kbId: z.string().min(1).max(200) });
const Upload = Kb.extend({ uploadId: z.string().min(1).max(200) });
const Site = Kb.extend({ sourceId: z.string().min(1).max(200) });

/**
 * Uploads on their way into a knowledge base (status, progress, why one
 * failed, retry) and the knowledge base's settings. Registered only when the
 * ingestion pipeline runs.
 */
export const knowledgeUploadRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  const ingestion = deps.ingestion;
  if (!ingestion) return;

  app.get('/api/knowledge-bases/:kbId/uploads', {
    schema: { tags: ['knowledge'], summary: 'Uploads of this knowledge base, newest first: queued, processing, ready or failed (with the reason)', params: Kb, response: { 200: IngestJobList } },
  }, async (request) => ({ uploads: await ingestion.list(await deps.guards.app(request), request.params.kbId) }));

  app.get('/api/knowledge-bases/:kbId/uploads/:uploadId', {
    schema: { tags: ['knowledge'], summary: 'One upload; once ready, the document with the same id holds its text', params: Upload, response: { 200: IngestJob } },
  }, async (request) => ingestion.get(await deps.guards.app(request), request.params.kbId, request.params.uploadId));

  app.post('/api/knowledge-bases/:kbId/uploads/:uploadId/retry', {
    schema: { tags: ['knowledge'], summary: 'Queue a failed upload again', params: Upload, response: { 200: IngestJob } },
  }, async (request) => ingestion.retry(await deps.guards.app(request), request.params.kbId, request.params.uploadId));

  app.delete('/api/knowledge-bases/:kbId/uploads/:uploadId', {
    schema: { tags: ['knowledge'], summary: 'Forget an upload that is not being processed (a ready document stays)', params: Upload, response: { 204: NoContent } },
  }, async (request, reply) => {
    await ingestion.remove(await deps.guards.app(request), request.params.kbId, request.params.uploadId);
    return reply.status(204).send(null);
  });

  app.post('/api/knowledge-bases/:kbId/imports', {
    schema: {
      tags: ['knowledge'], params: Kb, body: KbImportRequest, response: { 202: IngestJob },
      summary: 'Import one web page: fetched under the outbound address policy, then queued and parsed like an HTML upload; the same URL again replaces its document',
    },
  }, async (request, reply) => reply.status(202).send(await ingestion.importUrl(await deps.guards.app(request), request.params.kbId, request.body.url)));

  const web = deps.webSources;
  if (web) {
    app.post('/api/knowledge-bases/:kbId/web-sources', {
      schema: {
        tags: ['knowledge'], params: Kb, body: WebSourceCreate, response: { 202: WebSource },
        summary: 'Read a website into the knowledge base: one page, a sitemap or a crawl (same site, robots.txt respected), read again every resync_hours',
      },
    }, async (request, reply) => reply.status(202).send(await web.create(await deps.guards.app(request), request.params.kbId, request.body)));

    app.get('/api/knowledge-bases/:kbId/web-sources', {
      schema: { tags: ['knowledge'], summary: 'Websites this knowledge base reads, with what their last run did', params: Kb, response: { 200: WebSourceList } },
    }, async (request) => ({ web_sources: await web.list(await deps.guards.app(request), request.params.kbId) }));

    app.get('/api/knowledge-bases/:kbId/web-sources/:sourceId', {
      schema: { tags: ['knowledge'], summary: 'One website: status, pages, and the last run\'s figures and failures', params: Site, response: { 200: WebSource } },
    }, async (request) => web.get(await deps.guards.app(request), request.params.kbId, request.params.sourceId));

    app.post('/api/knowledge-bases/:kbId/web-sources/:sourceId/resync', {
      schema: { tags: ['knowledge'], summary: 'Read the website again now (only changed pages are indexed again)', params: Site, response: { 202: WebSource } },
    }, async (request, reply) => reply.status(202).send(await web.resync(await deps.guards.app(request), request.params.kbId, request.params.sourceId)));

    app.delete('/api/knowledge-bases/:kbId/web-sources/:sourceId', {
      schema: { tags: ['knowledge'], summary: 'Stop reading the website; its pages leave the knowledge base', params: Site, response: { 204: NoContent } },
    }, async (request, reply) => {
      await web.remove(await deps.guards.app(request), request.params.kbId, request.params.sourceId);
      return reply.status(204).send(null);
    });
  }

  app.get('/api/knowledge-bases/:kbId/settings', {
    schema: { tags: ['knowledge'], summary: 'Chunk size, overlap, top-k and citation style of this knowledge base', params: Kb, response: { 200: KnowledgeSettings } },
  }, async (request) => ingestion.settings(await deps.guards.app(request), request.params.kbId));

  app.put('/api/knowledge-bases/:kbId/settings', {
    schema: {
      tags: ['knowledge'], params: Kb, body: KnowledgeSettings,
      summary: 'Change the settings; a new chunk size or overlap re-indexes every document (the answer says how many)',
      response: { 200: KnowledgeSettingsSaved },
    },
  }, async (request) => ingestion.putSettings(await deps.guards.app(request), request.params.kbId, request.body));
};
