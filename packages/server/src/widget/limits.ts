import type { WidgetLimits } from './sessions.ts';

const positive = (raw: string | undefined, fallback: number, name: string): number => {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${name} must be a whole number from 1 to 1000000 (sessions a minute); it is "${raw}".`);
  return n;
};

/**
 * New widget sessions a minute, per client address and per visitor. A
 * visitor needs one per page load and one per 30 minutes on a page, so the
 * defaults leave room for a busy office behind one NAT address.
 */
export function widgetLimitsFrom(env: Record<string, string | undefined>): WidgetLimits {
  return {
    sessionsPerIp: positive(env.WARBLER_WIDGET_SESSIONS_PER_IP, 30, 'WARBLER_WIDGET_SESSIONS_PER_IP'),
    sessionsPerVisitor: positive(env.WARBLER_WIDGET_SESSIONS_PER_VISITOR, 10, 'WARBLER_WIDGET_SESSIONS_PER_VISITOR'),
  };
}
