import { pickLocale, type Locale } from './i18n.ts';

export interface Identity {
  user_id: string;
  expires_at: number;
  signature: string;
  name?: string;
}

/** What a company can set: on the script tag (data-*) or with WarblerWidget.configure({...}). */
export interface WidgetConfig {
  app: string;
  /** The Warbler server; by default where the script came from. */
  server: string;
  locale: Locale;
  title?: string;
  greeting?: string;
  /** The bubble's and the header's colour (any CSS colour). */
  color: string;
  /** Text on that colour. */
  textColor: string;
  position: 'right' | 'left';
  /** Open the panel on load. */
  open: boolean;
  identity?: Identity;
}

const CSS_COLOR = /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\)|[a-z]{3,20})$/i;

/** A colour the company gave, or the default: only colour syntax, so nothing else reaches the stylesheet. */
export const safeColor = (value: string | undefined, fallback: string): string =>
  value && CSS_COLOR.test(value.trim()) ? value.trim() : fallback;

export function configFrom(script: HTMLScriptElement | null, doc: Document, nav: Navigator): WidgetConfig {
  const data = script?.dataset ?? {};
  const server = data.server ?? (script?.src ? new URL(script.src).origin : location.origin);
  const identity = data.identityUser && data.identitySignature && data.identityExpires
    ? { user_id: data.identityUser, signature: data.identitySignature, expires_at: Number(data.identityExpires), ...(data.identityName ? { name: data.identityName } : {}) }
    : undefined;
  return {
    app: data.app ?? 'default',
    server,
    locale: pickLocale(data.locale, doc.documentElement.lang, nav.language),
    ...(data.title ? { title: data.title } : {}),
    ...(data.greeting ? { greeting: data.greeting } : {}),
    color: safeColor(data.color, '#2563eb'),
    textColor: safeColor(data.textColor, '#ffffff'),
    position: data.position === 'left' ? 'left' : 'right',
    open: data.open === 'true',
    ...(identity ? { identity } : {}),
  };
}
