import type { WidgetLocale, WidgetSession, WidgetSessionBody, WidgetSettings, WidgetSettingsBody } from '@warbler/protocol';
import { WarblerError } from '../errors.ts';
import type { SecretBox } from '../llm/index.ts';
import type { CaptchaCheck } from './captcha.ts';
import { checkIdentity, mintIdentitySecret } from './identity.ts';
import type { WidgetOrigins } from './origins.ts';
import type { WidgetSettingsRow, WidgetStore } from './store.ts';
import type { VisitorKeys } from './visitor-key.ts';

/** The support status a session reports; null while the conversation is an ordinary chat with the agent. */
export type SupportStatusView = WidgetSession['support_status'];

/** Opens the visitor's conversation with the agent, or returns the one they have. */
export type OpenConversation = (appId: string, userId: string, agentId: string, locale: WidgetLocale) =>
  Promise<{ conversationId: string; supportStatus: SupportStatusView }>;

export interface WidgetPeople {
  /** The user's kind, or undefined when there is no such user. */
  kindOf(appId: string, userId: string): Promise<'human' | 'agent' | undefined>;
  create(appId: string, user: { id: string; name: string; metadata: Record<string, unknown> }): Promise<void>;
  mintToken(appId: string, userId: string, ttlSeconds: number): Promise<{ token: string; expires_at: number }>;
  agentName(appId: string, agentId: string): Promise<string | undefined>;
}

/** Requests per minute; a key shared by every node (the gateway's limiter, Redis when there is one). */
export type TakeLimit = (key: string, perMinute: number) => Promise<{ ok: boolean; retryAfterMs?: number }>;

export interface WidgetLimits {
  /** New sessions from one client address per minute. */
  sessionsPerIp: number;
  /** New sessions of one visitor per minute (reloads, token renewals). */
  sessionsPerVisitor: number;
}

export interface WidgetSessionsDeps {
  store: WidgetStore;
  origins: WidgetOrigins;
  visitorKeys: VisitorKeys;
  /** Seals the identity secret at rest with the master key. */
  secrets: SecretBox;
  people: WidgetPeople;
  open: OpenConversation;
  take: TakeLimit;
  limits: WidgetLimits;
  captcha: CaptchaCheck;
  /** The agent when the operator named none. */
  defaultAgentId: string;
  now?: () => number;
}

/** The visitor's token lives this long; the widget asks for a new session (same visitor key) when it runs out. */
export const WIDGET_TOKEN_TTL_SECONDS = 30 * 60;

const SECRET_CONTEXT = 'widget-identity-secret';

export interface SessionRequest {
  body: WidgetSessionBody;
  /** The page's Origin header; absent for calls that are not from a browser page. */
  origin: string | undefined;
  /** Whether the Origin is this server's own (the web app). */
  sameOrigin: boolean;
  ip: string;
}

/** Widget settings and visitor sessions: who may embed the widget, and who a visitor is. */
export class WidgetSessions {
  private readonly now: () => number;

  constructor(private readonly deps: WidgetSessionsDeps) {
    this.now = deps.now ?? Date.now;
  }

  async settings(appId: string): Promise<WidgetSettings> {
    return view(appId, await this.deps.store.settings(appId));
  }

  async saveSettings(appId: string, body: WidgetSettingsBody): Promise<WidgetSettings> {
    const current = await this.deps.store.settings(appId);
    const agentId = body.agent_id === undefined ? (current?.agent_id ?? null) : body.agent_id;
    if (agentId !== null && (await this.deps.people.kindOf(appId, agentId)) !== 'agent') {
      throw new WarblerError('bad_request', `There is no agent "${agentId}" in this app: create it first, or leave agent_id out for the default assistant.`);
    }
    const origins = [...new Set(body.allowed_origins.map((o) => o.toLowerCase()))];
    await this.deps.store.saveSettings({
      app_id: appId,
      allowed_origins: JSON.stringify(origins),
      agent_id: agentId,
      captcha_url: body.captcha_url === undefined ? (current?.captcha_url ?? null) : body.captcha_url,
      identified_only: body.identified_only ?? Boolean(current?.identified_only),
      updated_at: this.now(),
    });
    this.deps.origins.forget();
    return this.settings(appId);
  }

  /** A new identity verification secret (the old one stops verifying at once); shown once. */
  async rotateIdentitySecret(appId: string): Promise<string> {
    const secret = mintIdentitySecret();
    await this.deps.store.saveIdentitySecret(appId, this.deps.secrets.seal(secret, `${SECRET_CONTEXT}:${appId}`), this.now());
    return secret;
  }

  async open(request: SessionRequest): Promise<WidgetSession> {
    const { body, ip } = request;
    const appId = body.app_id;
    const settings = await this.deps.store.settings(appId);
    if (!settings || JSON.parse(settings.allowed_origins).length === 0) {
      throw new WarblerError('forbidden', 'The widget is not enabled for this app: its operator lists the sites that may embed it (PUT /api/widget/settings).');
    }
    if (request.origin && !request.sameOrigin && !(await this.deps.origins.allowed(appId, request.origin))) {
      throw originRefused(request.origin);
    }
    await this.limit(`widget:ip:${ip}`, this.deps.limits.sessionsPerIp, 'this address');
    const { userId, visitorKey, name } = await this.visitor(appId, settings, request);
    await this.limit(`widget:visitor:${appId}:${userId}`, this.deps.limits.sessionsPerVisitor, 'this visitor');

    const kind = await this.deps.people.kindOf(appId, userId);
    if (kind === 'agent') throw new WarblerError('forbidden', 'An agent cannot be a widget visitor; sign the id of a person.');
    const agentId = settings.agent_id ?? this.deps.defaultAgentId;
    const agentName = await this.deps.people.agentName(appId, agentId);
    // Checked before the visitor is created: a refusal changes nothing.
    if (!agentName) throw new WarblerError('not_found', "The widget's agent is gone: the operator names another one (PUT /api/widget/settings, agent_id).");
    const locale = body.locale ?? 'en';
    if (!kind) await this.deps.people.create(appId, { id: userId, name, metadata: { source: 'widget', locale } });
    const conversation = await this.deps.open(appId, userId, agentId, locale);
    const minted = await this.deps.people.mintToken(appId, userId, WIDGET_TOKEN_TTL_SECONDS);
    return {
      user_id: userId, token: minted.token, expires_at: minted.expires_at, visitor_key: visitorKey,
      conversation_id: conversation.conversationId, agent: { id: agentId, name: agentName }, support_status: conversation.supportStatus,
    };
  }

  /** Who the visitor is: a signed identity, a returning anonymous visitor, or a new one (after the captcha, if any). */
  private async visitor(appId: string, settings: WidgetSettingsRow, request: SessionRequest): Promise<{ userId: string; visitorKey: string | null; name: string }> {
    const { identity, visitor_key: key, captcha_token: captcha } = request.body;
    if (identity) {
      const secret = settings.identity_secret ? this.deps.secrets.open(settings.identity_secret, `${SECRET_CONTEXT}:${appId}`) : undefined;
      checkIdentity(secret, identity, this.now());
      if (!(await this.deps.store.useSignature(appId, identity.signature, identity.expires_at * 1000, this.now()))) {
        throw new WarblerError('unauthorized', "This signed identity was used before: sign a fresh one for each page the company's backend serves.");
      }
      return { userId: identity.user_id, visitorKey: null, name: identity.name ?? identity.user_id };
    }
    if (settings.identified_only) throw new WarblerError('unauthorized', "This app's widget serves signed-in visitors only: the page must carry an identity signed by the company's backend.");
    const returning = key ? this.deps.visitorKeys.userOf(appId, key) : undefined;
    if (key && !returning) throw new WarblerError('unauthorized', 'The visitor key is not one this app gave; drop it to start as a new visitor.');
    if (returning) return { userId: returning, visitorKey: key!, name: visitorName(returning) };
    if (settings.captcha_url) {
      if (!captcha) throw new WarblerError('forbidden', 'Solve the captcha first: this app asks new visitors for one (captcha_token).');
      if (!(await this.deps.captcha(settings.captcha_url, captcha, request.ip))) throw new WarblerError('forbidden', 'The captcha was not accepted; solve a new one.');
    }
    const userId = this.deps.visitorKeys.newVisitorId();
    return { userId, visitorKey: this.deps.visitorKeys.keyFor(appId, userId), name: visitorName(userId) };
  }

  private async limit(key: string, perMinute: number, who: string): Promise<void> {
    const check = await this.deps.take(key, perMinute);
    if (!check.ok) {
      const seconds = Math.max(1, Math.ceil((check.retryAfterMs ?? 60_000) / 1000));
      throw new WarblerError('rate_limited', `Too many widget sessions from ${who}; try again in ${seconds} s.`, { retry_after_ms: check.retryAfterMs ?? 60_000 });
    }
  }
}

export const originRefused = (origin: string) =>
  new WarblerError('forbidden', `The origin ${origin.slice(0, 200)} may not use this app's widget: its operator adds it to allowed_origins (PUT /api/widget/settings).`);

/** "Visitor 4f2a": something a support person can say out loud. */
const visitorName = (userId: string) => `Visitor ${userId.slice(3, 7)}`;

function view(appId: string, row: WidgetSettingsRow | undefined): WidgetSettings {
  return {
    app_id: appId,
    allowed_origins: row ? (JSON.parse(row.allowed_origins) as string[]) : [],
    agent_id: row?.agent_id ?? null,
    captcha_url: row?.captcha_url ?? null,
    identified_only: Boolean(row?.identified_only),
    identity_secret_set: Boolean(row?.identity_secret),
    updated_at: Number(row?.updated_at ?? 0),
  };
}
