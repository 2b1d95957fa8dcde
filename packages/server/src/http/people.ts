import { PeopleQuery, PeopleResult, type Person } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from './deps.ts';

/** Pages of users scanned per search; a directory larger than this wants a name index in the store. */
const SCAN_PAGES = 25;
const PAGE = 200;

/**
 * The people and agents of the caller's app, by name, for starting a chat
 * or adding to a group. Any signed-in user may search (GET /api/users/:id
 * already shows any user's name and avatar to them).
 */
export const peopleRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/people', {
    schema: {
      tags: ['web'], summary: 'Find people and agents of your app by name or id',
      querystring: PeopleQuery, response: { 200: PeopleResult },
    },
  }, async (request) => {
    const { appId } = await deps.guards.actor(request);
    const { q, kind, limit } = request.query;
    const needle = q.trim().toLowerCase();
    const found: Person[] = [];
    let after: string | undefined;
    for (let page = 0; page < SCAN_PAGES && found.length < limit; page++) {
      const { users, next_after } = await deps.users.list(appId, { limit: PAGE, ...(after && { after }), ...(kind && { kind }) });
      for (const u of users) {
        if (needle && !u.name.toLowerCase().includes(needle) && !u.id.toLowerCase().includes(needle)) continue;
        found.push({ id: u.id, name: u.name, kind: u.kind, avatar_url: u.avatar_url });
        if (found.length >= limit) break;
      }
      if (!next_after) break;
      after = next_after;
    }
    return { users: found };
  });
};
