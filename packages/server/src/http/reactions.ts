import { ErrorBody, MessageReactions, ReactionEmoji } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Reactions } from '../reactions/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ messageId: z.string().min(1).max(128), emoji: ReactionEmoji });
const Query = z.object({ user_id: z.string().min(1).max(128).optional().describe('With the app secret: the user who reacts') });
const response = { 200: MessageReactions, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody };

/** Emoji reactions: add or remove one (both idempotent); the conversation hears a `reaction` frame. */
export const reactionRoutes = (deps: HttpDeps, reactions: Reactions): FastifyPluginAsyncZod => async (app) => {
  app.put('/api/messages/:messageId/reactions/:emoji', {
    schema: {
      tags: ['messages'], summary: 'React to a message with an emoji (URL-encoded; one emoji)',
      description: 'Adds the reaction (again: no change) and answers with the message\'s reactions. A message carries at most 20 different emoji; 60 reactions a minute per user.',
      params: Params, querystring: Query, response,
    },
  }, async (request) => reactions.add(await deps.guards.actor(request), request.params.messageId, request.params.emoji, request.query.user_id));

  app.delete('/api/messages/:messageId/reactions/:emoji', {
    schema: { tags: ['messages'], summary: 'Take back your reaction', params: Params, querystring: Query, response },
  }, async (request) => reactions.remove(await deps.guards.actor(request), request.params.messageId, request.params.emoji, request.query.user_id));
};
