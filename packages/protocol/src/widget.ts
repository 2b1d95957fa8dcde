import { z } from 'zod';
import { Id } from './models.ts';

// The website widget on the wire: the operator's settings for an app's widget,
// and the session a visitor's browser opens. docs/widget.md is the guide.

/** An app's own user ids: what the company's backend signs for an identified visitor. */
export const WidgetUserId = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'use 1-128 letters, digits or _ . : @ -');

/** A page origin as browsers send it: scheme, host and an optional port; no path, no trailing slash. */
export const WidgetOrigin = z.string().max(260).regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'an origin such as https://www.example.com or http://127.0.0.1:8080 (no path)');

export const WidgetLocale = z.enum(['zh-CN', 'en']);
export type WidgetLocale = z.infer<typeof WidgetLocale>;

/** What the operator sets for an app's widget (PUT /api/widget/settings). */
export const WidgetSettingsBody = z.object({
  /** Pages on these origins may embed the widget and call the API from it; every other origin is refused. */
  allowed_origins: z.array(WidgetOrigin).max(50),
  /** The agent that answers; by default the demo assistant when the app has it. */
  agent_id: Id.nullable().optional(),
  /** A captcha verifier Warbler asks (POST {token, remote_ip}) before it gives a new anonymous visitor a session; null: none. */
  captcha_url: z.string().url().max(2048).nullable().optional(),
  /** Refuse anonymous visitors: only visitors whose identity the company's backend signed get a session. */
  identified_only: z.boolean().optional(),
}).strict();
export type WidgetSettingsBody = z.infer<typeof WidgetSettingsBody>;

export const WidgetSettings = z.object({
  app_id: Id,
  allowed_origins: z.array(z.string()),
  agent_id: Id.nullable(),
  captcha_url: z.string().nullable(),
  identified_only: z.boolean(),
  /** Whether an identity verification secret was minted (it is shown only once). */
  identity_secret_set: z.boolean(),
  updated_at: z.number().int(),
});
export type WidgetSettings = z.infer<typeof WidgetSettings>;

/** A visitor whose identity the company's backend vouches for: HMAC-SHA256(identity secret, `${user_id}.${expires_at}`), hex. */
export const WidgetIdentity = z.object({
  user_id: WidgetUserId,
  /** Unix seconds; at most a day ahead. */
  expires_at: z.number().int().min(0).max(2 ** 40),
  signature: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits (HMAC-SHA256)'),
  /** Shown to support staff when the user is first seen. */
  name: z.string().min(1).max(200).optional(),
}).strict();
export type WidgetIdentity = z.infer<typeof WidgetIdentity>;

/** POST /api/widget/session: what a visitor's browser asks for. */
export const WidgetSessionBody = z.object({
  app_id: Id,
  /** The visitor key this browser was given before (kept in localStorage), to come back as the same visitor. */
  visitor_key: z.string().max(300).optional(),
  identity: WidgetIdentity.optional(),
  /** The captcha's answer, when the operator configured a verifier. */
  captcha_token: z.string().min(1).max(4_096).optional(),
  locale: WidgetLocale.optional(),
}).strict();
export type WidgetSessionBody = z.infer<typeof WidgetSessionBody>;

export const WidgetSession = z.object({
  user_id: WidgetUserId,
  /** A user token for the SDK (REST and the socket); short-lived: ask for a new session when it runs out. */
  token: z.string(),
  /** ms since the epoch. */
  expires_at: z.number().int(),
  /** Keep it (localStorage) to come back as the same anonymous visitor; null for identified visitors. */
  visitor_key: z.string().nullable(),
  conversation_id: Id,
  agent: z.object({ id: Id, name: z.string() }),
  /** The support side, when the support room runs the conversation: its status drives the agent state shown. */
  support_status: z.enum(['bot', 'pending_human', 'human', 'resolved', 'closed']).nullable(),
}).strict();
export type WidgetSession = z.infer<typeof WidgetSession>;

/** POST /api/widget/identity-secret: shown once; Warbler keeps it sealed. */
export const WidgetIdentitySecret = z.object({ identity_secret: z.string() }).strict();
export type WidgetIdentitySecret = z.infer<typeof WidgetIdentitySecret>;

/** GET /widget/v1/manifest.json: the script this server serves now, to pin with an integrity attribute. */
export const WidgetManifest = z.object({
  version: z.string(),
  /** The exact version's script, cached for a year (never changes). */
  url: z.string(),
  /** Subresource integrity of that script (sha384-…), for the script tag's integrity attribute. */
  integrity: z.string(),
  bytes: z.number().int(),
  gzip_bytes: z.number().int(),
}).strict();
export type WidgetManifest = z.infer<typeof WidgetManifest>;

/** GET /widget/:version/widget.js: the version the page asks for. */
export const WidgetVersionParams = z.object({ version: z.string().max(40) });
