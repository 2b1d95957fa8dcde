import { SupportPolicy } from '@warbler/protocol';
import { badRequest } from '../errors.ts';
import type { SupportStore } from './support-store.ts';
import { isTimeZone } from './working-hours.ts';

/** The app's default policy is stored under this agent id; an agent's own row replaces it whole. */
export const APP_POLICY = '';

export const DEFAULT_POLICY: SupportPolicy = SupportPolicy.parse({});

/** The policy in force for an agent's conversations: its own, else the app's, else the defaults. */
export async function policyFor(store: SupportStore, appId: string, agentId: string): Promise<SupportPolicy> {
  const raw = (await store.policy(appId, agentId)) ?? (await store.policy(appId, APP_POLICY));
  if (raw === undefined) return DEFAULT_POLICY;
  const parsed = SupportPolicy.safeParse(raw);
  return parsed.success ? parsed.data : DEFAULT_POLICY;
}

/** Checks what zod cannot: the time zone exists, spans end after they start. */
export function validatePolicy(policy: SupportPolicy): SupportPolicy {
  const hours = policy.working_hours;
  if (hours) {
    if (!isTimeZone(hours.time_zone)) throw badRequest(`Unknown time zone "${hours.time_zone}": use an IANA name such as Asia/Shanghai or Europe/London.`);
    const bad = hours.spans.find((s) => s.from >= s.to);
    if (bad) throw badRequest(`A working-hours span must end after it starts (day ${bad.day}: ${bad.from}–${bad.to}); split a span that crosses midnight in two.`);
  }
  return { ...policy, keywords: [...new Set(policy.keywords.map((k) => k.trim()).filter(Boolean))] };
}

/**
 * The configured keyword the message holds, if any, case-insensitive. A
 * keyword in a spaced script matches whole words only ("refund" does not fire
 * on "refunded": list both if both should); one with CJK characters matches
 * anywhere, since those scripts do not put spaces between words.
 */
export function keywordIn(text: string, keywords: readonly string[]): string | undefined {
  const lower = text.normalize('NFKC').toLowerCase();
  for (const keyword of keywords) {
    const k = keyword.normalize('NFKC').toLowerCase();
    if (!k) continue;
    if (/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(k)) {
      if (lower.includes(k)) return keyword;
      continue;
    }
    let from = 0;
    for (let at = lower.indexOf(k, from); at !== -1; at = lower.indexOf(k, from)) {
      const before = lower.charAt(at - 1);
      const after = lower.charAt(at + k.length);
      if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) return keyword;
      from = at + 1;
    }
  }
  return undefined;
}
