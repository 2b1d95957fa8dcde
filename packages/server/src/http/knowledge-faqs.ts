import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Faq, FaqFromReply, FaqImportResult, FaqInput, FaqList, NoContent } from '@warbler/protocol';
import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { HttpDeps } from './deps.ts';
import { readUpload } from './knowledge.ts';

const Kb = z.object({ kbId: z.string().min(1).max(200) });
const OneFaq = Kb.extend({ faqId: z.string().min(1).max(200) });
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

/** FAQs of a knowledge base: by hand, from a CSV/XLSX file, or from an AI reply rated thumbs-up. */
export const knowledgeFaqRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  const faqs = deps.faqs;
  if (!faqs) return;
  await app.register(multipart, { limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 10, parts: 11, fieldSize: 64 * 1024 } });

  app.get('/api/knowledge-bases/:kbId/faqs', {
    schema: { tags: ['knowledge'], summary: 'FAQs of this knowledge base', params: Kb, response: { 200: FaqList } },
  }, async (request) => ({ faqs: await faqs.list(await deps.guards.app(request), request.params.kbId) }));

  app.post('/api/knowledge-bases/:kbId/faqs', {
    schema: { tags: ['knowledge'], summary: 'Add an FAQ: a customer question this close is answered with the answer as written, with no model call', params: Kb, body: FaqInput, response: { 201: Faq } },
  }, async (request, reply) => reply.status(201).send(await faqs.add(await deps.guards.app(request), request.params.kbId, request.body)));

  app.put('/api/knowledge-bases/:kbId/faqs/:faqId', {
    schema: { tags: ['knowledge'], summary: 'Change an FAQ', params: OneFaq, body: FaqInput, response: { 200: Faq } },
  }, async (request) => faqs.update(await deps.guards.app(request), request.params.kbId, request.params.faqId, request.body));

  app.delete('/api/knowledge-bases/:kbId/faqs/:faqId', { schema: { tags: ['knowledge'], summary: 'Delete an FAQ', params: OneFaq, response: { 204: NoContent } } },
    async (request, reply) => {
      await faqs.remove(await deps.guards.app(request), request.params.kbId, request.params.faqId);
      return reply.status(204).send(null);
    });

  app.post('/api/knowledge-bases/:kbId/faqs/import', {
    schema: { tags: ['knowledge'], summary: 'Import FAQs from a .csv, .xlsx or .xls file (multipart, field "file") with a question column and an answer column', params: Kb, response: { 200: FaqImportResult } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    if (!request.isMultipart()) throw badRequest('Send multipart/form-data with the .csv or .xlsx file in a field named "file".');
    return faqs.importFile(appId, request.params.kbId, await readUpload(request, MAX_IMPORT_BYTES));
  });

  app.post('/api/knowledge-bases/:kbId/faqs/from-reply', {
    schema: {
      tags: ['knowledge'], params: Kb, body: FaqFromReply, response: { 201: Faq },
      summary: 'Turn an AI reply rated thumbs-up into an FAQ: the question it answered and its text',
    },
  }, async (request, reply) => reply.status(201).send(await faqs.fromRatedReply(await deps.guards.app(request), request.params.kbId, request.body.message_id)));
};
