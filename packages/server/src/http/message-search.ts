import { ErrorBody, MessageSearchQuery, MessageSearchResult } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { badRequest } from '../errors.ts';
import type { MessageSearch } from '../search/index.ts';
import type { HttpDeps } from './deps.ts';

/** Message search across a user's conversations, or in one (decision 0026). */
export const messageSearchRoutes = (deps: HttpDeps, search: MessageSearch): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/search/messages', {
    schema: {
      tags: ['messages'],
      summary: "Search a user's messages by words, newest first",
      description:
        'Finds messages with every word of `q` (whole words; Chinese, Japanese and Korean by characters) in the conversations the user is a member of, ' +
        'or in `conversation_id` only. Each hit carries a plain-text snippet with the matched ranges. At most 30 searches a minute per user (429 rate_limited).',
      querystring: MessageSearchQuery,
      response: { 200: MessageSearchResult, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody },
    },
  }, async (request) => {
    const actor = await deps.guards.actor(request);
    const { q, conversation_id, user_id, cursor, limit } = request.query;
    if (actor.userId && user_id && user_id !== actor.userId) throw badRequest('With a user token you search your own messages; leave user_id out.');
    const userId = actor.userId ?? user_id;
    if (!userId) throw badRequest('Name the user whose messages to search: ?user_id=… (app-level calls search as one of your users).');
    return search.search({ appId: actor.appId, userId, q, limit, ...(conversation_id ? { conversationId: conversation_id } : {}), ...(cursor ? { cursor } : {}) });
  });
};
