import { describe, expect, it } from 'vitest';
import { isOpen, isTimeZone, nextOpening } from './working-hours.ts';

const weekdays = (from: string, to: string) => [1, 2, 3, 4, 5].map((day) => ({ day, from, to }));

describe('working hours', () => {
  const shanghai = { time_zone: 'Asia/Shanghai', spans: weekdays('09:00', '18:00') };

  it('is open inside a span in the team\'s time zone, closed outside it', () => {
    // Wednesday 2026-12-02 10:00 in Shanghai is 02:00 UTC.
    expect(isOpen(shanghai, Date.UTC(2026, 11, 2, 2, 0))).toBe(true);
    // 18:00 ends the span: Wednesday 18:00 Shanghai (10:00 UTC) is closed.
    expect(isOpen(shanghai, Date.UTC(2026, 11, 2, 10, 0))).toBe(false);
    // Saturday noon in Shanghai.
    expect(isOpen(shanghai, Date.UTC(2026, 11, 5, 4, 0))).toBe(false);
  });

  it('finds the next opening: Friday evening waits for Monday 09:00', () => {
    const fridayEvening = Date.UTC(2026, 11, 4, 12, 0); // Friday 20:00 in Shanghai
    expect(nextOpening(shanghai, fridayEvening)?.toISOString()).toBe('2026-12-07T01:00:00.000Z');
    const open = Date.UTC(2026, 11, 2, 2, 0);
    expect(nextOpening(shanghai, open)?.getTime()).toBe(open);
    expect(nextOpening({ time_zone: 'UTC', spans: [] }, open)).toBeNull();
  });

  it('follows daylight saving: Berlin opens at 09:00 local on each side of the change', () => {
    const berlin = { time_zone: 'Europe/Berlin', spans: weekdays('09:00', '17:00') };
    // Sunday 2026-03-29 is the change to summer time (UTC+2): Monday 09:00 is 07:00 UTC.
    expect(nextOpening(berlin, Date.UTC(2026, 2, 28, 12, 0))?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
    // A week before, in winter time (UTC+1): 08:00 UTC.
    expect(nextOpening(berlin, Date.UTC(2026, 2, 21, 12, 0))?.toISOString()).toBe('2026-03-23T08:00:00.000Z');
  });

  it('knows real time zones only', () => {
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
