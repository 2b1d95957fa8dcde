import { FeedbackBody, FeedbackResult, MessageIdParams, type Rating } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { KeyedSerial } from '../chat/index.ts';
import { badRequest, notFound } from '../errors.ts';
import type { HttpDeps } from './deps.ts';
import type { WebAppDeps } from './web-app.ts';

/**
 * Thumbs up or down on an AI reply, kept in the message itself
 * (content.feedback[user id]) so every member's client sees it through the
 * usual message.updated push, and an export of the conversation carries it.
 */
export const feedbackRoutes = (deps: HttpDeps, web: WebAppDeps): FastifyPluginAsyncZod => async (app) => {
  // Read-modify-write of one message's content: two raters at once must not lose a vote.
  const serial = new KeyedSerial();

  app.post('/api/messages/:messageId/feedback', {
    schema: {
      tags: ['messages'], summary: "Rate an AI reply: 'up', 'down', or null to take your rating back",
      params: MessageIdParams, body: FeedbackBody, response: { 200: FeedbackResult },
    },
  }, async (request) => {
    const actor = await deps.guards.actor(request);
    const userId = actor.userId ?? request.body.user_id;
    if (!userId) throw badRequest('Name the user who rates (user_id): app-level calls act for one of your users.');
    if (actor.userId && request.body.user_id && request.body.user_id !== actor.userId) throw badRequest('With a user token you rate as yourself; leave user_id out.');
    const { messageId } = request.params;
    return serial.run(`${actor.appId}\u0000${messageId}`, async () => {
      const message = await web.store.getMessage(actor.appId, messageId);
      if (!message) throw notFound('The message');
      await deps.conversations.requireMember(actor.appId, message.conversation_id, userId);
      const sender = await deps.users.get(actor.appId, message.sender_id);
      if (sender.kind !== 'agent') throw badRequest('Only replies of AI agents can be rated.');
      if (message.state === 'streaming' || message.state === 'recalled') throw badRequest(`A ${message.state} reply cannot be rated; wait until it has finished.`);
      // Only this route writes content.feedback, so what is stored there is a rating per user.
      const feedback: Record<string, Rating> = { ...(isRecord(message.content.feedback) ? (message.content.feedback as Record<string, Rating>) : {}) };
      if (request.body.rating === null) delete feedback[userId];
      else feedback[userId] = request.body.rating;
      const updated = await deps.messages.replace(actor.appId, messageId, { content: { ...message.content, feedback }, updated_at: Date.now() });
      // A customer's thumbs-down in a support conversation may hand it to a person (the app's policy decides).
      await deps.support?.rated(actor.appId, updated, userId, request.body.rating);
      return { message_id: updated.id, feedback };
    });
  });
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
