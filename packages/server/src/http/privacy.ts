import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RetentionEnforced, RetentionPolicies, RetentionPreview, UserErasure } from '@warbler/protocol';
import { z } from 'zod';
import type { Retention, UserData } from '../privacy/index.ts';
import { auditDetail } from './audit.ts';
import type { HttpDeps } from './deps.ts';

export interface PrivacyHttpDeps {
  userData: UserData;
  retention: Retention;
}

const UserParams = z.object({ userId: z.string().min(1).max(128) });

/** A user's data on request, and retention: app-level calls (the app secret, or the master key with X-Warbler-App). */
export const privacyRoutes = (deps: HttpDeps, p: PrivacyHttpDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/api/privacy/users/:userId/export', {
    config: { audit: { resource: 'user_data', action: 'user_data.export' }, responseContract: 'raw' },
    schema: { tags: ['privacy'], summary: 'Everything kept about one user, as a zip: profile, conversations, messages sent, ratings, files, ledger rows', params: UserParams },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    const archive = await p.userData.export(appId, request.params.userId);
    // The log names the user by a keyed hash, never by id (ids may be e-mail addresses).
    auditDetail(request, { resourceId: p.userData.subjectRef(appId, request.params.userId), after: { archive: archive.filename.replace(request.params.userId, '…') } });
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${archive.filename}"`).send(archive.stream);
  });

  app.post('/api/privacy/users/:userId/erase', {
    config: { audit: { resource: 'user_data', action: 'user_data.erase' } },
    schema: { tags: ['privacy'], summary: "Erase a user: messages become placeholders, files, memberships and the profile go, ledger rows stay anonymized", params: UserParams, response: { 200: UserErasure } },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const { subject, ...result } = await p.userData.erase(appId, request.params.userId);
    auditDetail(request, { resourceId: subject, after: result });
    return result;
  });

  app.get('/api/retention', {
    schema: { tags: ['privacy'], summary: "The app's retention policies", response: { 200: RetentionPolicies } },
  }, async (request) => ({ policies: await p.retention.policies(await deps.guards.app(request)) }));

  app.put('/api/retention', {
    schema: { tags: ['privacy'], summary: 'Replace the retention policies (one per conversation kind, or all); an empty list keeps everything', body: RetentionPolicies, response: { 200: RetentionPolicies } },
  }, async (request) => ({ policies: await p.retention.setPolicies(await deps.guards.app(request), request.body.policies) }));

  app.get('/api/retention/preview', {
    schema: { tags: ['privacy'], summary: 'What enforcing the policies now would remove (nothing is removed)', response: { 200: RetentionPreview } },
  }, async (request) => p.retention.preview(await deps.guards.app(request)));

  app.post('/api/retention/enforce', {
    schema: { tags: ['privacy'], summary: 'Enforce the policies now instead of at the next background run', response: { 200: RetentionEnforced } },
  }, async (request) => p.retention.enforce(await deps.guards.app(request)));
};
