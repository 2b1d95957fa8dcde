import type { WorkingHours } from '@warbler/protocol';

// When the team answers, in its own time zone (daylight saving included, by Intl).

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short', hour: 'numeric', minute: 'numeric',
    });
    if (formats.size > 500) formats.clear();
    formats.set(timeZone, format);
  }
  return format;
}

/** True when the name is a time zone this runtime knows (Asia/Shanghai, Europe/Berlin, UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function localTime(at: number, timeZone: string): LocalTime {
  const parts = Object.fromEntries(formatFor(timeZone).formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''), minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether people answer at this moment. */
export function isOpen(hours: WorkingHours, at: number): boolean {
  const local = localTime(at, hours.time_zone);
  return hours.spans.some((s) => s.day === local.weekday && local.minutes >= minutesOf(s.from) && local.minutes < minutesOf(s.to));
}

/** The next moment people answer (now, if open), within a week; null when no span is ever open. */
export function nextOpening(hours: WorkingHours, at: number): Date | null {
  if (isOpen(hours, at)) return new Date(at);
  let best: number | null = null;
  for (let ahead = 0; ahead <= 7; ahead++) {
    const local = localTime(at + ahead * 86_400_000, hours.time_zone);
    for (const span of hours.spans) {
      if (span.day !== local.weekday || minutesOf(span.from) >= minutesOf(span.to)) continue;
      const start = instantOf(local, minutesOf(span.from), hours.time_zone);
      if (start > at && (best === null || start < best)) best = start;
    }
    if (best !== null) return new Date(best);
  }
  return null;
}

/** The UTC instant of a local date and minute of the day in the zone. */
function instantOf(local: LocalTime, minutes: number, timeZone: string): number {
  const wall = Date.UTC(local.year, local.month - 1, local.day, Math.floor(minutes / 60), minutes % 60);
  let guess = wall;
  // Twice: the offset at the guess can differ from the offset at the answer across a DST change.
  for (let i = 0; i < 2; i++) {
    const seen = localTime(guess, timeZone);
    const seenWall = Date.UTC(seen.year, seen.month - 1, seen.day, Math.floor(seen.minutes / 60), seen.minutes % 60);
    guess += wall - seenWall;
  }
  return guess;
}
