import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AuditHeadExport, AuditPage, AuditQuery, AuditVerification, AuditVerifyRequest, InstallationAuditPage, type AuditEntry } from '@warbler/protocol';
import { publicEntry, routeAction, type AuditActorKind, type AuditLog, type RouteAction } from '../audit/index.ts';
import type { Principal } from '../tenancy/index.ts';
import { badRequest } from '../errors.ts';
import type { HttpDeps } from './deps.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How the audit log names a write to this route, when the path alone does not say it well (e.g. user_data.erase). */
    audit?: RouteAction;
  }
}

const MAX_BEFORE_BYTES = 256 * 1024;
/** The chain of operator actions that name no app. */
const INSTALLATION = '*';

const details = new WeakMap<FastifyRequest, { resourceId?: string; after?: unknown }>();

/** Lets a route say what its audit entry names and shows, when its path and answer do not (a download, a pseudonymised user). */
export function auditDetail(request: FastifyRequest, detail: { resourceId?: string; after?: unknown }): void {
  details.set(request, detail);
}

/**
 * The one hook point of the audit log (decision 0020): every successful write
 * to a route that is not ordinary use (audit/route-actions.ts) is recorded
 * before its answer leaves, so a client that got its answer finds the entry.
 * A new route is recorded without anyone remembering to. What changed: the
 * resource as GET answered just before the write (when it has a GET at the
 * same path), and the write's answer (or its body, for answers without one);
 * secrets masked.
 */
export function registerAuditTrail(app: FastifyInstance, deps: HttpDeps, audit: AuditLog): void {
  const before = new WeakMap<FastifyRequest, unknown>();
  // A route's action, worked out once per route and method: routeAction splits and matches the path, and
  // request.routeOptions builds a new object on each read; /v1 ran both on every request.
  const actions = new WeakMap<object, { method: string; action: RouteAction | undefined }>();
  const actionOf = (request: FastifyRequest): RouteAction | undefined => {
    const options = request.routeOptions;
    const config = options.config;
    const known = actions.get(config);
    if (known?.method === request.method) return known.action;
    const url = options.url;
    const action = url ? (config.audit ?? routeAction(request.method, url)) : undefined;
    actions.set(config, { method: request.method, action });
    return action;
  };

  // Both hooks take a callback, not a promise: most requests are no write to record, and those should cost nothing.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.method !== 'PATCH' && request.method !== 'PUT' && request.method !== 'DELETE') return done();
    const url = request.routeOptions.url;
    if (!url || !actionOf(request) || !app.hasRoute({ method: 'GET', url })) return done();
    readBefore(request, url).then(() => done(), done);
  });

  async function readBefore(request: FastifyRequest, url: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'x-warbler-app'] as const) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await app.inject({ method: 'GET', url: request.url, headers });
    if (answer.statusCode === 200 && answer.rawPayload.length <= MAX_BEFORE_BYTES) before.set(request, parseJson(answer.payload));
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400) return done(null, payload);
    const action = actionOf(request);
    if (!action) return done(null, payload);
    record(request, reply, action, payload).then(
      () => done(null, payload),
      (err: unknown) => {
        // The change is made; failing its answer now would only mislead the client. The log line is the trail of last resort.
        request.log.error({ err, action: action.action }, 'audit entry could not be written');
        done(null, payload);
      },
    );
  });

  async function record(request: FastifyRequest, _reply: FastifyReply, action: RouteAction, payload: unknown): Promise<void> {
    const principal = await deps.guards.principal(request).catch(() => undefined);
    if (!principal) return;
    const params = (request.params ?? {}) as Record<string, string>;
    const answer = typeof payload === 'string' ? parseJson(payload) : undefined;
    const body = request.body;
    const detail = details.get(request);
    const after = detail?.after ?? (request.method === 'DELETE' ? null : answer ?? (isObject(body) ? body : undefined));
    const createdId = idOf(answer);
    // An app's own chain holds what was done to it, even by the operator acting from another app's console.
    const appId = params.appId ?? (action.action === 'app.create' ? createdId : undefined) ?? principal.appId ?? INSTALLATION;
    const resourceId = detail?.resourceId ?? ((action.idParam && params[action.idParam]) || createdId || null);
    await audit.record({
      appId,
      actor: actorOf(principal),
      ip: request.ip,
      userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
      requestId: request.id,
      action: action.action,
      resource: action.resource,
      resourceId,
      before: before.get(request),
      after,
    });
  }
}

function actorOf(p: Principal): { kind: AuditActorKind; id: string | null } {
  if (p.kind === 'user') return { kind: 'user', id: p.userId };
  if (p.kind === 'app') return { kind: 'app_secret', id: p.appId };
  return { kind: 'master_key', id: null };
}

/** Reading the trail: a filtered page, the whole chain as JSONL, and its verification. */
export const auditRoutes = (deps: HttpDeps, audit: AuditLog): FastifyPluginAsyncZod => async (app) => {
  app.get('/api/audit', {
    schema: {
      tags: ['audit'], summary: 'Audit entries of the app, newest first; filter by action, resource, actor kind and time; page with before_seq',
      querystring: AuditQuery, response: { 200: AuditPage },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    const q = request.query;
    const rows = await audit.list(appId, {
      limit: q.limit, ...(q.action ? { action: q.action } : {}), ...(q.resource ? { resource: q.resource } : {}),
      ...(q.actor_kind ? { actor_kind: q.actor_kind } : {}), ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}), ...(q.before_seq !== undefined ? { before_seq: q.before_seq } : {}),
    });
    const last = rows[rows.length - 1];
    return { entries: rows.map((r) => publicEntry(r) as AuditEntry), next_before_seq: rows.length === q.limit && last ? last.seq : null };
  });

  app.get('/api/audit/export', {
    config: { responseContract: 'raw' },
    schema: { tags: ['audit'], summary: 'The whole audit chain of the app as JSON Lines, oldest first (with hashes, so it can be verified offline)' },
  }, async (request, reply) => {
    const appId = await deps.guards.app(request);
    async function* lines() {
      for await (const row of audit.entries(appId)) yield `${JSON.stringify(publicEntry(row))}\n`;
    }
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-${appId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl"`)
      .send(Readable.from(lines()));
  });

  // What the operator did with no app named (X-Warbler-App): installation-wide changes such as providers, in the chain '*'.
  app.get('/admin/audit', {
    schema: { tags: ['audit'], summary: "The operator's installation-wide audit entries (made with the master key and no X-Warbler-App), newest first", querystring: AuditQuery, response: { 200: InstallationAuditPage } },
  }, async (request) => {
    await deps.guards.operator(request);
    const rows = await audit.list(INSTALLATION, { limit: request.query.limit, ...(request.query.before_seq !== undefined ? { before_seq: request.query.before_seq } : {}) });
    return { entries: rows.map((r) => publicEntry(r) as AuditEntry) };
  });

  app.get('/admin/audit/verify', {
    schema: { tags: ['audit'], summary: "Recompute the installation chain's hashes", response: { 200: AuditVerification } },
  }, async (request) => {
    await deps.guards.operator(request);
    return audit.verify(INSTALLATION);
  });

  app.get('/api/audit/verify', {
    schema: {
      tags: ['audit'],
      summary: "Recompute the app's hash chain and check it reaches its signed head: ok, or the first entry changed, removed or inserted, or 'truncated'",
      response: { 200: AuditVerification },
    },
  }, async (request) => audit.verify(await deps.guards.app(request)));

  // A head exported earlier and kept outside Warbler: catches a rollback of both the entries and the stored head.
  app.post('/api/audit/verify', {
    schema: {
      tags: ['audit'], summary: 'Verify the chain against a signed head exported earlier (GET /api/audit/head)',
      body: AuditVerifyRequest, response: { 200: AuditVerification },
    },
  }, async (request) => {
    const appId = await deps.guards.app(request);
    if (request.body.head.app_id !== appId) throw badRequest(`This head belongs to app ${request.body.head.app_id}; verify it with that app's credential.`);
    return audit.verify(appId, request.body.head);
  });

  app.get('/api/audit/head', {
    schema: { tags: ['audit'], summary: "The app's signed chain head and the public key that checks it: keep a copy outside Warbler", response: { 200: AuditHeadExport } },
  }, async (request) => ({ head: (await audit.head(await deps.guards.app(request))) ?? null, ...audit.headKey }));

  app.get('/admin/audit/head', {
    schema: { tags: ['audit'], summary: "The installation chain's signed head and the public key that checks it", response: { 200: AuditHeadExport } },
  }, async (request) => {
    await deps.guards.operator(request);
    return { head: (await audit.head(INSTALLATION)) ?? null, ...audit.headKey };
  });
};

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The id a create answered with: { id } or, for apps, { app: { id } }. */
function idOf(answer: unknown): string | undefined {
  if (!isObject(answer)) return undefined;
  if (typeof answer.id === 'string') return answer.id;
  // { app: {...}, secret } and { key: {...}, secret }: the thing created is the one object beside its secret.
  const inner = Object.values(answer).find((v) => isObject(v) && typeof v.id === 'string') as { id: string } | undefined;
  return inner?.id;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
