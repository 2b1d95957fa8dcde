// The support room's settings, read once from the environment at start.
import { z } from 'zod';

const Schema = z.object({
  /** Hours of customer silence after which an open support conversation is closed as `abandoned`; 0 = never. */
  WARBLER_SUPPORT_ABANDON_AFTER_HOURS: z.coerce.number().min(0, 'must be 0 (never) or more hours').max(24 * 365, 'must be at most a year (8760 hours)').default(24),
  /** How often the node holding the sweeper's lease looks for them. */
  WARBLER_SUPPORT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000, 'must be at least 1000 (milliseconds)').default(300_000),
});

export interface SupportSettings {
  abandonAfterMs: number;
  sweepIntervalMs: number;
}

/** Parses the support settings; throws an Error naming each bad variable and what to write instead. */
export function supportSettingsFrom(env: Record<string, string | undefined>): SupportSettings {
  const parsed = Schema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  return { abandonAfterMs: Math.round(parsed.data.WARBLER_SUPPORT_ABANDON_AFTER_HOURS * 3_600_000), sweepIntervalMs: parsed.data.WARBLER_SUPPORT_SWEEP_INTERVAL_MS };
}
