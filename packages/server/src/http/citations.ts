import { CitationSource, ErrorBody } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../errors.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ messageId: z.string().min(1).max(128), index: z.coerce.number().int().min(1).max(99) });

/**
 * The document behind a reply's citation, for the people in the reply's
 * conversation: the knowledge-base routes need the app secret, and a member
 * may see a document only through an agent of their conversation that cites
 * it. So the message is the key: its reader must be a member, it must come
 * from an agent, that agent must still have the knowledge base attached, and
 * the document must be the one the citation names.
 */
export const citationRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/messages/:messageId/citations/:index', {
    schema: {
      tags: ['messages'], params: Params,
      summary: 'The document a reply cites under [n], for members of its conversation (uploaded files as their extracted text)',
      response: { 200: CitationSource, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    const actor = await deps.guards.actor(request);
    const message = await deps.messages.get(actor, request.params.messageId);
    const cited = (Array.isArray(message.content.citations) ? message.content.citations : [])
      .find((c): c is { index: number; kb_id: string; document_id: string } =>
        typeof c === 'object' && c !== null && (c as { index?: unknown }).index === request.params.index
        && typeof (c as { kb_id?: unknown }).kb_id === 'string' && typeof (c as { document_id?: unknown }).document_id === 'string');
    if (!cited) throw notFound(`Citation [${request.params.index}] of this message`);
    // Only an agent's reply cites documents; a person's message claiming citations shows nothing.
    const agent = await deps.agents.get(actor.appId, message.sender_id).catch(() => undefined);
    if (!agent?.config.knowledge_base_ids.includes(cited.kb_id)) throw notFound('The document');
    const doc = await deps.knowledge.getDocument(actor.appId, cited.kb_id, cited.document_id);
    return {
      index: cited.index, kb_id: doc.kb_id, document_id: doc.id, title: doc.title, source: doc.source,
      url: /^https?:\/\//i.test(doc.source) ? doc.source : null, format: doc.format, text: doc.text, updated_at: doc.updated_at,
    };
  });
};
