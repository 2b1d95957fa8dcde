import type { FastifyReply, FastifyRequest } from 'fastify';
import { appIdOfSecret } from '../auth/secrets.ts';
import { looksLikeJwt } from '../auth/tokens.ts';
import { bearer } from '../tenancy/index.ts';
import type { WidgetOrigins } from './origins.ts';
import { originRefused } from './sessions.ts';

const ALLOWED_HEADERS = 'authorization, content-type, x-warbler-app';
const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE';

/** Whether the Origin is the server's own (the web app): browsers send it on same-origin POSTs too. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Which app a call is for, before anything is verified: only to pick whose
 * allowed origins apply. The guards verify the credential afterwards, so a
 * forged claim gains nothing but a refusal.
 */
function claimedApp(request: FastifyRequest): string | undefined {
  const credential = bearer(request.headers.authorization);
  if (!credential) return undefined;
  if (looksLikeJwt(credential)) {
    try {
      const payload = JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString('utf8')) as { app?: unknown };
      return typeof payload.app === 'string' ? payload.app : undefined;
    } catch {
      return undefined;
    }
  }
  const fromSecret = appIdOfSecret(credential);
  if (fromSecret) return fromSecret;
  const header = request.headers['x-warbler-app'];
  return typeof header === 'string' ? header : undefined;
}

/**
 * CORS for the API, from the origins each app's operator allowed. A call from
 * a page on another origin is answered (with Access-Control-Allow-Origin) only
 * when its app allows that origin; otherwise it is refused before any handler
 * runs. Calls without an Origin (servers, the SDK in Node) and from the
 * server's own pages are not touched.
 */
export function widgetCors(origins: WidgetOrigins) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !request.url.startsWith('/api/')) return;
    if (isSameOrigin(origin, request.headers.host)) return;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    const app = preflight ? undefined : claimedApp(request);
    const allowed = app ? await origins.allowed(app, origin) : await origins.allowedAnywhere(origin);
    reply.header('vary', 'Origin');
    if (!allowed) {
      const refusal = originRefused(origin);
      await reply.status(refusal.status).send({ error: { code: refusal.code, message: refusal.message } });
      return reply;
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'retry-after, x-request-id');
    if (preflight) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', '600');
      await reply.status(204).send();
      return reply;
    }
  };
}
