import { describe, expect, it } from 'vitest';
import { supportSettingsFrom } from './settings.ts';

describe('support settings', () => {
  it('closes silent conversations after 24 hours, swept every 5 minutes, unless told otherwise', () => {
    expect(supportSettingsFrom({})).toEqual({ abandonAfterMs: 24 * 3_600_000, sweepIntervalMs: 300_000 });
    expect(supportSettingsFrom({ WARBLER_SUPPORT_ABANDON_AFTER_HOURS: '0.5', WARBLER_SUPPORT_SWEEP_INTERVAL_MS: '60000' })).toEqual({ abandonAfterMs: 1_800_000, sweepIntervalMs: 60_000 });
    expect(supportSettingsFrom({ WARBLER_SUPPORT_ABANDON_AFTER_HOURS: '0' }).abandonAfterMs).toBe(0);
  });

  it('names the variable and what to write instead', () => {
    expect(() => supportSettingsFrom({ WARBLER_SUPPORT_ABANDON_AFTER_HOURS: '-1' })).toThrow(/WARBLER_SUPPORT_ABANDON_AFTER_HOURS: must be 0 \(never\) or more hours/);
    expect(() => supportSettingsFrom({ WARBLER_SUPPORT_SWEEP_INTERVAL_MS: '10' })).toThrow(/WARBLER_SUPPORT_SWEEP_INTERVAL_MS: must be at least 1000/);
  });
});
