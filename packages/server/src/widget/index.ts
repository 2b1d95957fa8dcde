// The website widget room: serving the script, visitor sessions (anonymous or
// signed identity), and the per-app origins that may embed it. docs/widget.md.
export { buildWidget, type Widget, type WidgetDeps } from './build.ts';
export { captchaVerifier, type CaptchaCheck } from './captcha.ts';
export { widgetCors } from './cors.ts';
export { widgetRoutes, type WidgetRouteDeps } from './http.ts';
export { signIdentity, MAX_IDENTITY_TTL_SECONDS } from './identity.ts';
export { WidgetOrigins } from './origins.ts';
export { defaultWidgetDist, WidgetScripts } from './script.ts';
export { WidgetSessions, WIDGET_TOKEN_TTL_SECONDS, type OpenConversation, type WidgetLimits, type WidgetPeople, type TakeLimit } from './sessions.ts';
export { widgetLimitsFrom } from './limits.ts';
export { WidgetStore } from './store.ts';
export { VisitorKeys } from './visitor-key.ts';
