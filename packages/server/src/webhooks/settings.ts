// The webhooks room's settings, read once from the environment at start.
import { z } from 'zod';
import type { DelivererSettings } from './deliverer.ts';
import { DEFAULT_RETRY_SCHEDULE_MS } from './retry-schedule.ts';

const Ms = (min: number) => z.coerce.number().int().min(min, `must be at least ${min} (milliseconds)`);

const Schema = z.object({
  /** Delays before each retry, comma-separated milliseconds; the count is the number of retries. */
  WARBLER_WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be comma-separated milliseconds, like 10000,60000,300000')
    .transform((s) => s.split(',').map((n) => Number(n.trim())))
    .refine((a) => a.length <= 30 && a.every((n) => n >= 10 && n <= 7 * 86_400_000), 'at most 30 delays, each between 10 ms and 7 days')
    .optional(),
  WARBLER_WEBHOOK_TIMEOUT_MS: Ms(100).max(60_000, 'must be at most 60000 (milliseconds)').default(10_000),
  WARBLER_WEBHOOK_CONCURRENCY: z.coerce.number().int().positive().max(1_000).default(32),
  WARBLER_WEBHOOK_CONCURRENCY_PER_ENDPOINT: z.coerce.number().int().positive().max(100).default(4),
  WARBLER_WEBHOOK_POLL_MS: Ms(50).default(1_000),
  WARBLER_WEBHOOK_RETENTION_DAYS: z.coerce.number().positive().default(30),
});

/** Parses the webhook settings; throws an Error naming each bad variable and what to write instead. */
export function webhookSettingsFrom(env: Record<string, string | undefined>): DelivererSettings {
  const parsed = Schema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const e = parsed.data;
  return {
    retryScheduleMs: e.WARBLER_WEBHOOK_RETRY_SCHEDULE_MS ?? DEFAULT_RETRY_SCHEDULE_MS,
    attemptTimeoutMs: e.WARBLER_WEBHOOK_TIMEOUT_MS,
    concurrency: e.WARBLER_WEBHOOK_CONCURRENCY,
    concurrencyPerEndpoint: e.WARBLER_WEBHOOK_CONCURRENCY_PER_ENDPOINT,
    pollMs: e.WARBLER_WEBHOOK_POLL_MS,
    retentionMs: e.WARBLER_WEBHOOK_RETENTION_DAYS * 86_400_000,
  };
}
