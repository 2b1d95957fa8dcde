import { WebhookDelivery, WebhookDeliveryList, WebhookDeliveryQuery, WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointDeleted, WebhookEndpointList, WebhookEndpointUpdate, WebhookEndpointWithSecret } from '@warbler/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Webhooks } from '../webhooks/index.ts';
import type { HttpDeps } from './deps.ts';

const EndpointParams = z.object({ endpointId: z.string().min(1).max(128) });
const DeliveryParams = z.object({ deliveryId: z.string().min(1).max(128) });
const DeliveryPage = WebhookDeliveryQuery;

/**
 * Webhook endpoints, their delivery log, test events and redelivery: the app
 * secret, or the master key with X-Warbler-App. An endpoint's secret is in the
 * create and rotate answers only.
 */
export const webhookRoutes = (deps: HttpDeps, webhooks: Webhooks): FastifyPluginAsyncZod => async (app) => {
  const { endpoints, outbox } = webhooks;

  app.post('/api/webhooks/endpoints', {
    schema: {
      tags: ['webhooks'], summary: 'Add an endpoint; its signing secret is shown only in this answer',
      body: WebhookEndpointCreate, response: { 201: WebhookEndpointWithSecret },
    },
  }, async (request, reply) => reply.status(201).send(await endpoints.create(await deps.guards.app(request), request.body)));

  app.get('/api/webhooks/endpoints', {
    schema: { tags: ['webhooks'], summary: "The app's endpoints, oldest first", response: { 200: WebhookEndpointList } },
  }, async (request) => ({ endpoints: await endpoints.list(await deps.guards.app(request)) }));

  app.get('/api/webhooks/endpoints/:endpointId', {
    schema: { tags: ['webhooks'], summary: 'One endpoint', params: EndpointParams, response: { 200: WebhookEndpoint } },
  }, async (request) => endpoints.get(await deps.guards.app(request), request.params.endpointId));

  app.patch('/api/webhooks/endpoints/:endpointId', {
    schema: {
      tags: ['webhooks'], summary: "Change an endpoint's URL, description, event types or enabled flag",
      params: EndpointParams, body: WebhookEndpointUpdate, response: { 200: WebhookEndpoint },
    },
  }, async (request) => endpoints.update(await deps.guards.app(request), request.params.endpointId, request.body));

  app.delete('/api/webhooks/endpoints/:endpointId', {
    schema: { tags: ['webhooks'], summary: 'Delete an endpoint with its undelivered events and its log', params: EndpointParams, response: { 200: WebhookEndpointDeleted } },
  }, async (request) => {
    await endpoints.delete(await deps.guards.app(request), request.params.endpointId);
    return { deleted: true as const };
  });

  app.post('/api/webhooks/endpoints/:endpointId/rotate-secret', {
    schema: {
      tags: ['webhooks'], summary: 'A new signing secret, shown once; the old one also signs for 24 hours',
      params: EndpointParams, response: { 200: WebhookEndpointWithSecret },
    },
  }, async (request) => endpoints.rotateSecret(await deps.guards.app(request), request.params.endpointId));

  app.post('/api/webhooks/endpoints/:endpointId/test', {
    schema: { tags: ['webhooks'], summary: 'Send a webhook.test event to this endpoint', params: EndpointParams, response: { 202: WebhookDelivery } },
  }, async (request, reply) => reply.status(202).send(await outbox.sendTest(await deps.guards.app(request), request.params.endpointId)));

  app.get('/api/webhooks/endpoints/:endpointId/deliveries', {
    schema: {
      tags: ['webhooks'], summary: "An endpoint's deliveries, newest first, each with its attempts",
      params: EndpointParams, querystring: DeliveryPage, response: { 200: WebhookDeliveryList },
    },
  }, async (request) => ({ deliveries: await outbox.deliveries(await deps.guards.app(request), request.params.endpointId, request.query) }));

  app.post('/api/webhooks/deliveries/:deliveryId/redeliver', {
    schema: { tags: ['webhooks'], summary: "Send a delivery's event again (same event id and body)", params: DeliveryParams, response: { 202: WebhookDelivery } },
  }, async (request, reply) => reply.status(202).send(await outbox.redeliver(await deps.guards.app(request), request.params.deliveryId)));
};
