/**
 * Five-field cron (minute hour day-of-month month day-of-week, UTC), the form people write and
 * CloudNativePG's ScheduledBackup takes with a seconds field in front. Pure: parsing and the
 * longest gap between two runs, which is how old the last backup may be before it counts as late.
 */

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

export interface Cron {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, either one matching is enough. */
  dayOr: boolean;
}

/** Parses `0 3 * * *`; returns a reason string instead of throwing, for the config's message. */
export function parseCron(text: string): Cron | string {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) {
    return `has ${parts.length} fields; write five: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"`;
  }
  const sets: Set<number>[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const set = parseField(parts[i] ?? "", field.min, field.max);
    if (typeof set === "string") return `${field.name} "${parts[i]}": ${set}`;
    sets.push(set);
  }
  const [minutes, hours, days, months, weekdays] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes,
    hours,
    days,
    months,
    weekdays,
    dayOr: parts[2] !== "*" && parts[4] !== "*",
  };
}

function parseField(text: string, min: number, max: number): Set<number> | string {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) return "use numbers, ranges (1-5), lists (1,15) and steps (*/6)";
    const from = m[1] === "*" ? min : Number(m[2]);
    const to = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < min || to > max || from > to || step < 1) return `must lie within ${min}-${max}`;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function cronMatches(c: Cron, at: Date): boolean {
  if (!c.minutes.has(at.getUTCMinutes()) || !c.hours.has(at.getUTCHours())) return false;
  return dayMatches(c, at);
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * The longest time between two consecutive runs over two years from a fixed instant
 * (deterministic; two years hold a leap day and every month and weekday combination that recurs).
 * Walks matching days, then their hours and minutes, so a daily schedule costs a few hundred
 * steps, not a million. Infinity when the schedule runs once or never (e.g. 30 February).
 */
export function longestGapMs(c: Cron): number {
  const start = Date.UTC(2027, 0, 1);
  const hours = [...c.hours].sort((a, b) => a - b);
  const minutes = [...c.minutes].sort((a, b) => a - b);
  let last: number | undefined;
  let gap = Number.POSITIVE_INFINITY;
  let runs = 0;
  for (let day = start; day < start + 731 * DAY; day += DAY) {
    if (!dayMatches(c, new Date(day))) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const t = day + (h * 60 + m) * MINUTE;
        if (last !== undefined) gap = runs === 1 ? t - last : Math.max(gap, t - last);
        last = t;
        runs += 1;
      }
    }
  }
  return gap;
}

function dayMatches(c: Cron, at: Date): boolean {
  if (!c.months.has(at.getUTCMonth() + 1)) return false;
  const day = c.days.has(at.getUTCDate());
  const weekday = c.weekdays.has(at.getUTCDay());
  return c.dayOr ? day || weekday : day && weekday;
}

/** CloudNativePG's ScheduledBackup takes six fields, seconds first. */
export function withSeconds(fiveField: string): string {
  return `0 ${fiveField.trim().split(/\s+/).join(" ")}`;
}
