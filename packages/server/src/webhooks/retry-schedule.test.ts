import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, nextAttemptAt } from './retry-schedule.ts';

describe('the retry schedule', () => {
  it('spreads about a day over nine attempts', () => {
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(22);
    expect(total / 3_600_000).toBeLessThan(25);
    expect(DEFAULT_RETRY_SCHEDULE_MS).toHaveLength(8);
  });

  it('waits each delay within 20 % either way, then gives up', () => {
    const s = [1_000, 60_000];
    expect(nextAttemptAt(s, 1, 0, () => 0)).toBe(800);
    expect(nextAttemptAt(s, 1, 0, () => 1)).toBe(1_200);
    expect(nextAttemptAt(s, 2, 100, () => 0.5)).toBe(60_100);
    expect(nextAttemptAt(s, 3, 0)).toBeUndefined();
  });
});
