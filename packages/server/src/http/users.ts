import { CreateUserBody, MintTokenBody, RevokedTokens, UpdateUserBody, User, UserListQuery, UserPage, UserToken } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { forbidden } from '../errors.ts';
import { toUser } from '../tenancy/index.ts';
import type { HttpDeps } from './deps.ts';

const Params = z.object({ userId: z.string().min(1) });

/** Users and their tokens: called by the app's backend with the app secret. */
export const userRoutes = (deps: HttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/api/users', {
    schema: {
      tags: ['users'], summary: 'Create a user (a person or an agent)',
      body: CreateUserBody, response: { 201: User },
    },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    return reply.status(201).send(await deps.users.create(appId, request.body));
  });

  app.get('/api/users', {
    schema: {
      tags: ['users'], summary: 'Page through users',
      querystring: UserListQuery, response: { 200: UserPage },
    },
  }, async (request) => deps.users.list(await deps.guards.app(request), request.query));

  app.get('/api/users/:userId', { schema: { tags: ['users'], summary: 'One user', params: Params, response: { 200: User } } }, async (request) => {
    const actor = await deps.guards.actor(request);
    // A user token may read any user of its own app (names and avatars are what a chat shows).
    return toUser(await deps.users.get(actor.appId, request.params.userId));
  });

  app.patch('/api/users/:userId', {
    schema: {
      tags: ['users'], summary: 'Update a user', params: Params,
      body: UpdateUserBody, response: { 200: User },
    },
  }, async (request) => {
    const actor = await deps.guards.actor(request);
    if (actor.userId && actor.userId !== request.params.userId) throw forbidden('You can only update yourself.');
    return deps.users.update(actor.appId, request.params.userId, request.body);
  });

  app.post('/api/users/:userId/tokens', {
    schema: { tags: ['users'], summary: 'Mint a user token for the SDK', params: Params, body: MintTokenBody.optional(), response: { 200: UserToken } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    return deps.users.mintToken(appId, request.params.userId, request.body?.ttl_seconds);
  });

  app.post('/api/users/:userId/tokens/revoke', {
    schema: { tags: ['users'], summary: 'Revoke every token of a user and close their sockets', params: Params, response: { 200: RevokedTokens } },
  }, async (request) => deps.users.revokeTokens(await deps.guards.app(request), request.params.userId));
};
