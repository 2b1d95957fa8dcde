import { ErrorBody, MemberPrefs, MemberPrefsPatch } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MemberPrefsService } from '../chat/index.ts';
import type { HttpDeps } from './deps.ts';

/** A member's own pin and mute: PATCH either or both; the caller's other sessions hear a `member.prefs` frame. */
export const memberPrefsRoutes = (deps: HttpDeps, prefs: MemberPrefsService): FastifyPluginAsyncZod => async (app) => {
  app.patch('/api/conversations/:conversationId/prefs', {
    schema: {
      tags: ['members'], summary: 'Pin or mute a conversation for yourself',
      description: 'Pinned conversations are listed first by the apps; muted ones do not notify or count as unread in the title. Nobody else sees either.',
      params: z.object({ conversationId: z.string().min(1).max(128) }), body: MemberPrefsPatch,
      response: { 200: MemberPrefs, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => prefs.set(await deps.guards.actor(request), request.params.conversationId, request.body));
};
