// When a failed delivery is tried again: after each delay of the schedule in
// turn, each stretched or shrunk at random by up to a fifth (jitter), so the
// retries of many events that failed together do not all arrive together.
// Past the last delay the delivery is failed for good.

/** 10 s, 1 min, 5 min, 30 min, 2 h, 5 h, 8 h, 8 h: nine attempts over about 24 hours. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 28_800_000, 28_800_000];

const JITTER = 0.2;

/**
 * The time of the next attempt after attempt number `attempt` (1-based) failed
 * at `now`; undefined when the schedule is used up.
 */
export function nextAttemptAt(schedule: readonly number[], attempt: number, now: number, random: () => number = Math.random): number | undefined {
  const delay = schedule[attempt - 1];
  if (delay === undefined) return undefined;
  return now + Math.round(delay * (1 - JITTER + 2 * JITTER * random()));
}
