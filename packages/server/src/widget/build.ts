import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { WarblerError } from '../errors.ts';
import { SecretBox } from '../llm/index.ts';
import type { Outbound } from '../outbound/index.ts';
import { captchaVerifier } from './captcha.ts';
import { widgetCors } from './cors.ts';
import { widgetRoutes } from './http.ts';
import { widgetLimitsFrom } from './limits.ts';
import { WidgetOrigins } from './origins.ts';
import { defaultWidgetDist, WidgetScripts } from './script.ts';
import { WidgetSessions, type OpenConversation, type WidgetPeople } from './sessions.ts';
import { WidgetStore } from './store.ts';
import { VisitorKeys } from './visitor-key.ts';

export interface WidgetDeps {
  /** The database, for the room's own tables. */
  db: Kysely<any>;
  masterKey: string;
  env: Record<string, string | undefined>;
  outbound: Outbound;
  /** One request against a per-minute limit shared by every node (the gateway's key limiter). */
  take: (key: string, perMinute: number) => Promise<{ ok: boolean; retryAfterMs?: number }>;
  users: {
    get(appId: string, userId: string): Promise<{ kind: 'human' | 'agent'; name: string }>;
    create(appId: string, input: { id: string; name: string; metadata: Record<string, unknown> }): Promise<unknown>;
    mintToken(appId: string, userId: string, ttlSeconds: number): Promise<{ token: string; expires_at: number }>;
  };
  open: OpenConversation;
  appOf: (request: FastifyRequest) => Promise<string>;
  defaultAgentId: string;
  warn: (message: string) => void;
  distDir?: string;
}

const missing = (err: unknown) => err instanceof WarblerError && err.code === 'not_found';

/** The widget room, assembled: its CORS hook, its routes, and the session service behind them. */
export function buildWidget(deps: WidgetDeps) {
  const store = new WidgetStore(deps.db);
  const origins = new WidgetOrigins(store);
  const people: WidgetPeople = {
    kindOf: (appId, userId) => deps.users.get(appId, userId).then((u) => u.kind, (err: unknown) => {
      if (missing(err)) return undefined;
      throw err;
    }),
    create: async (appId, user) => void (await deps.users.create(appId, user)),
    mintToken: (appId, userId, ttl) => deps.users.mintToken(appId, userId, ttl),
    agentName: (appId, agentId) => deps.users.get(appId, agentId).then((u) => (u.kind === 'agent' ? u.name : undefined), (err: unknown) => {
      if (missing(err)) return undefined;
      throw err;
    }),
  };
  const sessions = new WidgetSessions({
    store, origins, people, open: deps.open, take: deps.take,
    visitorKeys: new VisitorKeys(deps.masterKey),
    secrets: new SecretBox(deps.masterKey, { purpose: 'widget-identity' }),
    limits: widgetLimitsFrom(deps.env),
    captcha: captchaVerifier(deps.outbound, deps.warn),
    defaultAgentId: deps.defaultAgentId,
  });
  const scripts = new WidgetScripts(deps.distDir ?? defaultWidgetDist());
  return { sessions, cors: widgetCors(origins), routes: widgetRoutes({ sessions, scripts, appOf: deps.appOf }) };
}

export type Widget = ReturnType<typeof buildWidget>;
