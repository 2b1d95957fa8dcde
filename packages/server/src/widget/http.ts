import { WidgetIdentitySecret, WidgetManifest, WidgetSession, WidgetSessionBody, WidgetSettings, WidgetSettingsBody, WidgetVersionParams } from '@warbler/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WarblerError } from '../errors.ts';
import { isSameOrigin } from './cors.ts';
import type { WidgetScript, WidgetScripts } from './script.ts';
import type { WidgetSessions } from './sessions.ts';

export interface WidgetRouteDeps {
  sessions: WidgetSessions;
  scripts: WidgetScripts;
  /** The app a backend call is for (app secret, or master key with X-Warbler-App). */
  appOf: (request: FastifyRequest) => Promise<string>;
}

const YEAR = 365 * 24 * 3600;

/** The widget's script and its API: visitor sessions, and the operator's settings. */
export const widgetRoutes = (deps: WidgetRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const script = async (request: FastifyRequest, reply: FastifyReply, pinned: boolean) => {
    const built = await deps.scripts.current();
    if (!built) throw new WarblerError('not_found', 'The widget is not built on this server: run `npm run build:widget`, then reload.');
    return sendScript(request, reply, built, pinned);
  };

  // The script is JavaScript, not a JSON body: raw for the response contract (decision 0032).
  const raw = { responseContract: 'raw' as const };
  // The moving major version: a page keeps working as patches ship; cached an hour.
  app.get('/widget/v1/widget.js', { schema: { hide: true }, config: raw }, (request, reply) => script(request, reply, false));
  // One exact version, never changed: cached for a year, and what an integrity attribute pins.
  app.get('/widget/:version/widget.js', { schema: { hide: true, params: WidgetVersionParams }, config: raw }, async (request, reply) => {
    const built = await deps.scripts.current();
    if (!built || request.params.version !== built.version) {
      throw new WarblerError('not_found', `This server serves widget ${built?.version ?? '(not built)'}: use /widget/v1/widget.js, or /widget/${built?.version ?? 'v1'}/widget.js.`);
    }
    return script(request, reply, true);
  });
  app.get('/widget/v1/manifest.json', { schema: { hide: true, response: { 200: WidgetManifest } } }, async (_request, reply) => {
    const built = await deps.scripts.current();
    if (!built) throw new WarblerError('not_found', 'The widget is not built on this server: run `npm run build:widget`.');
    reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300');
    return { version: built.version, url: `/widget/${built.version}/widget.js`, integrity: built.integrity, bytes: built.body.length, gzip_bytes: built.gzip.length };
  });

  app.post('/api/widget/session', {
    schema: {
      tags: ['widget'], summary: 'A visitor session for the website widget (anonymous or signed identity): a user token and their conversation',
      description: 'Called by the widget from a page on one of the app\'s allowed origins. Rate-limited per client address and per visitor. See docs/widget.md.',
      security: [], body: WidgetSessionBody, response: { 200: WidgetSession },
    },
  }, async (request) => {
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
    return deps.sessions.open({ body: request.body, origin, sameOrigin: origin !== undefined && isSameOrigin(origin, request.headers.host), ip: request.ip });
  });

  app.get('/api/widget/settings', { schema: { tags: ['widget'], summary: "The app's widget settings", response: { 200: WidgetSettings } } },
    async (request) => deps.sessions.settings(await deps.appOf(request)));

  app.put('/api/widget/settings', {
    schema: { tags: ['widget'], summary: "Set the app's widget: allowed origins, agent, captcha verifier", body: WidgetSettingsBody, response: { 200: WidgetSettings } },
  }, async (request) => deps.sessions.saveSettings(await deps.appOf(request), request.body));

  app.post('/api/widget/identity-secret', {
    schema: { tags: ['widget'], summary: 'Mint the identity verification secret (shown once; the previous one stops working)', response: { 200: WidgetIdentitySecret } },
  }, async (request) => ({ identity_secret: await deps.sessions.rotateIdentitySecret(await deps.appOf(request)) }));
};

function sendScript(request: FastifyRequest, reply: FastifyReply, built: WidgetScript, pinned: boolean) {
  reply
    .header('content-type', 'text/javascript; charset=utf-8')
    .header('cache-control', pinned ? `public, max-age=${YEAR}, immutable` : 'public, max-age=3600, stale-while-revalidate=86400')
    .header('etag', built.etag)
    // Any site may load it (with crossorigin + integrity); what it may then do is decided by the app's allowed origins.
    .header('access-control-allow-origin', '*')
    .header('cross-origin-resource-policy', 'cross-origin')
    .header('x-content-type-options', 'nosniff')
    .header('vary', 'Accept-Encoding');
  if (request.headers['if-none-match'] === built.etag) return reply.status(304).send();
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply.send(gzip ? built.gzip : built.body);
}
