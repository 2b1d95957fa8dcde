import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { GatewayKey, GatewayKeyCreate, GatewayKeyCreated, GatewayKeyList, GatewayKeyUpdate, GatewayKeyWithSpend } from '@warbler/protocol';
import { z } from 'zod';
import type { Keys } from '../gateway/index.ts';
import type { Budgets } from '../usage/index.ts';
import type { HttpDeps } from './deps.ts';

export interface GatewayKeysDeps {
  keys: Keys;
  budgets: Pick<Budgets, 'spent'>;
}

const KeyParams = z.object({ keyId: z.string().min(1).max(100) });

/**
 * Virtual keys of the /v1 gateway, for the console and for scripts: the app
 * secret, or the master key with X-Warbler-App. A key's secret is in the
 * create response only.
 */
export const gatewayKeyRoutes = (deps: HttpDeps, g: GatewayKeysDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/api/gateway/keys', {
    schema: {
      tags: ['gateway'],
      summary: 'Create a virtual API key for /v1; its secret is shown only in this response',
      body: GatewayKeyCreate,
      response: { 201: GatewayKeyCreated },
    },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    return reply.status(201).send(await g.keys.create(appId, request.body));
  });

  app.get('/api/gateway/keys', { schema: { tags: ['gateway'], summary: 'List virtual keys, newest first (revoked ones included)', response: { 200: GatewayKeyList } } }, async (request) => {
    const appId = await deps.guards.app(request);
    return { keys: await g.keys.list(appId) };
  });

  app.get('/api/gateway/keys/:keyId', {
    schema: { tags: ['gateway'], summary: "A virtual key with this month's spending", params: KeyParams, response: { 200: GatewayKeyWithSpend } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const key = await g.keys.get(appId, request.params.keyId);
    const spend = await g.budgets.spent(appId, { keyId: key.id });
    return { ...key, month: spend.month, spent_usd: spend.usd };
  });

  app.patch('/api/gateway/keys/:keyId', {
    schema: {
      tags: ['gateway'],
      summary: "Change a key's name, models, budget, limits, expiry or metadata",
      params: KeyParams,
      body: GatewayKeyUpdate,
      response: { 200: GatewayKey },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    return g.keys.update(appId, request.params.keyId, request.body);
  });

  app.post('/api/gateway/keys/:keyId/revoke', {
    schema: { tags: ['gateway'], summary: 'Revoke a key: it stops working at once', params: KeyParams, response: { 200: GatewayKey } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    return g.keys.revoke(appId, request.params.keyId);
  });

  app.delete('/api/gateway/keys/:keyId', {
    schema: { tags: ['gateway'], summary: 'Revoke a key (the row stays, for the ledger and the console)', params: KeyParams, response: { 200: GatewayKey } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    return g.keys.revoke(appId, request.params.keyId);
  });
};
