/**
 * Maintenance windows (issue 20): `--window "Sat,Sun 02:00-06:00"` (repeatable), `--window-tz`
 * (an IANA zone, through Intl; default UTC) and `--cutoff MINUTES`. A host starts only inside a
 * window and not later than the cutoff before its end. Pure functions over a time (ms since the
 * epoch), so that tests drive them with any clock.
 *
 * Grammar: `[DAYS ]HH:MM[:SS]-HH:MM[:SS]`; DAYS is a comma list of day names (Mon..Sun, or full
 * names, any case) or ranges (`Mon-Fri`), `*` or `daily`; no DAYS = every day. An end at or before
 * the start ends on the next day; `24:00` is midnight at the end of the day. Overlapping or touching
 * windows are one window. Daylight saving: a local time the clocks skip is taken at the moment they
 * jump (02:30 on a spring-forward night is 03:30 summer time); a local time that happens twice is its
 * first occurrence.
 */
import { invalidArgument } from "../errors.js";

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const SHOWN_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAY_MS = 86_400_000;

/** One parsed window. */
export interface WindowSpec {
  /** The text it was parsed from. */
  text: string;
  /** Weekdays it starts on (0 = Sunday). */
  days: ReadonlySet<number>;
  /** Seconds after local midnight. */
  startS: number;
  /** Seconds after the start day's local midnight (> startS; up to 2 days). */
  endS: number;
}

/** A concrete window: [start, end) in ms since the epoch. */
export interface WindowInterval {
  start: number;
  end: number;
}

/** Where a strategy stands against its windows at some time. */
export interface WindowStatus {
  /** A host may start now. */
  open: boolean;
  /** When open: the end of the current window. */
  until?: number;
  /** When not open: the start of the next window in which a host may start. */
  nextStart?: number;
  /** What the console and `show` print (window_state). */
  state: string;
}

function parseDay(name: string, spec: string): number {
  const n = name.trim().toLowerCase();
  const i = DAY_NAMES.findIndex((d) => n === d || (n.length > 3 && d === n.slice(0, 3) && /^(sun|mon|tues|wednes|thurs|fri|satur)day$/.test(n)));
  if (i < 0) throw invalidArgument(`windows: unknown day "${name.trim()}" in "${spec}"`, { reason: "INVALID_WINDOW" });
  return i;
}

function parseTime(t: string, spec: string, end: boolean): number {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t.trim());
  if (!m) throw invalidArgument(`windows: bad time "${t.trim()}" in "${spec}" (HH:MM or HH:MM:SS)`, { reason: "INVALID_WINDOW" });
  const [h, min, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const s = h * 3600 + min * 60 + sec;
  if (min > 59 || sec > 59 || h > 24 || (h === 24 && (!end || s !== 86400))) {
    throw invalidArgument(`windows: bad time "${t.trim()}" in "${spec}"`, { reason: "INVALID_WINDOW" });
  }
  return s;
}

/** Parses one window; INVALID_ARGUMENT naming the problem. */
export function parseWindow(spec: string): WindowSpec {
  const text = spec.trim().replace(/\s+/g, " ");
  const m = /^(?:(\S+) )?(\S+)-(\S+)$/.exec(text);
  if (!m) throw invalidArgument(`windows: expected "[DAYS ]HH:MM-HH:MM", got "${spec}"`, { reason: "INVALID_WINDOW" });
  const days = new Set<number>();
  const dayPart = m[1];
  if (dayPart === undefined || dayPart === "*" || dayPart.toLowerCase() === "daily") {
    for (let d = 0; d < 7; d++) days.add(d);
  } else {
    for (const item of dayPart.split(",")) {
      const range = item.split("-");
      if (range.length === 1) days.add(parseDay(range[0]!, spec));
      else if (range.length === 2) {
        const a = parseDay(range[0]!, spec);
        const b = parseDay(range[1]!, spec);
        for (let d = a; ; d = (d + 1) % 7) {
          days.add(d);
          if (d === b) break;
        }
      } else throw invalidArgument(`windows: bad day range "${item}" in "${spec}"`, { reason: "INVALID_WINDOW" });
    }
  }
  const startS = parseTime(m[2]!, spec, false);
  let endS = parseTime(m[3]!, spec, true);
  if (startS === 86400) throw invalidArgument(`windows: a window cannot start at 24:00 ("${spec}")`, { reason: "INVALID_WINDOW" });
  if (endS <= startS) endS += 86400;
  return { text, days, startS, endS };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The zone, checked (INVALID_ARGUMENT for one Intl does not know); "" = UTC. */
export function checkTimeZone(tz: string | undefined): string {
  const zone = tz && tz.trim() ? tz.trim() : "UTC";
  try {
    formatter(zone);
  } catch {
    throw invalidArgument(`window_tz: unknown time zone "${zone}"`, { reason: "INVALID_WINDOW" });
  }
  return zone;
}

/** Local calendar fields of `t` in `tz`. */
export function localParts(t: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number; weekday: number } {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const y = p.year!;
  const mo = p.month!;
  const d = p.day!;
  return { y, mo, d, h: p.hour! % 24, mi: p.minute!, s: p.second!, weekday: new Date(Date.UTC(y, mo - 1, d)).getUTCDay() };
}

/** Offset of `tz` from UTC at `t`, ms (local = utc + offset). */
function offsetAt(t: number, tz: string): number {
  const p = localParts(t, tz);
  const local = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
  return local - Math.floor(t / 1000) * 1000;
}

/** The instant of local date (y, mo, d) + `seconds` in `tz` (DST rules in the module comment). */
export function localToUtc(y: number, mo: number, d: number, seconds: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d) + seconds * 1000;
  const before = offsetAt(guess - DAY_MS, tz);
  const after = offsetAt(guess + DAY_MS, tz);
  const valid = [guess - before, guess - after].filter((c) => offsetAt(c, tz) === guess - c);
  if (valid.length > 0) return Math.min(...valid);
  return guess - before; // a skipped local time: where the clocks jump to
}

/** Concrete windows overlapping [from - 2 days, from + 9 days), merged and sorted. */
export function windowIntervals(specs: readonly WindowSpec[], tz: string, from: number): WindowInterval[] {
  const today = localParts(from, tz);
  const out: WindowInterval[] = [];
  for (let k = -2; k <= 8; k++) {
    const date = new Date(Date.UTC(today.y, today.mo - 1, today.d + k));
    const [y, mo, d, wd] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay()];
    for (const w of specs) {
      if (!w.days.has(wd)) continue;
      const start = localToUtc(y, mo, d, w.startS, tz);
      const endDay = new Date(Date.UTC(y, mo - 1, d + Math.floor(w.endS / 86400)));
      const end = localToUtc(endDay.getUTCFullYear(), endDay.getUTCMonth() + 1, endDay.getUTCDate(), w.endS % 86400, tz);
      if (end > start) out.push({ start, end });
    }
  }
  out.sort((a, b) => a.start - b.start);
  const merged: WindowInterval[] = [];
  for (const i of out) {
    const last = merged[merged.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
  }
  return merged;
}

function hhmm(t: number, tz: string, withDay: boolean): string {
  const p = localParts(t, tz);
  const time = `${String(p.h).padStart(2, "0")}:${String(p.mi).padStart(2, "0")}${p.s ? `:${String(p.s).padStart(2, "0")}` : ""}`;
  return `${withDay ? `${SHOWN_DAYS[p.weekday]} ` : ""}${time} ${tz}`;
}

/** Whether a host may start at `now`, and the window_state text. */
export function windowStatus(specs: readonly WindowSpec[], tz: string, cutoffMinutes: number, now: number): WindowStatus {
  const cutoff = cutoffMinutes * 60_000;
  const intervals = windowIntervals(specs, tz, now).filter((i) => i.end - cutoff > i.start && i.end - cutoff > now);
  const current = intervals.find((i) => i.start <= now);
  if (current) return { open: true, until: current.end, state: `in window until ${hhmm(current.end, tz, false)}` };
  const next = intervals[0];
  if (!next) return { open: false, state: "no window ahead" };
  return { open: false, nextStart: next.start, state: `waiting for window ${hhmm(next.start, tz, true)}` };
}

/** Parsed windows of create options, checked (INVALID_ARGUMENT naming the problem). */
export function checkWindows(windows: readonly string[], tz: string | undefined, cutoffMinutes: number): { specs: WindowSpec[]; tz: string } {
  const zone = checkTimeZone(tz);
  if (!Number.isInteger(cutoffMinutes) || cutoffMinutes < 0 || cutoffMinutes > 7 * 24 * 60) {
    throw invalidArgument(`cutoff_minutes: must be 0..10080, got ${cutoffMinutes}`, { reason: "INVALID_WINDOW" });
  }
  if (windows.length > 64) throw invalidArgument("windows: at most 64 windows", { reason: "INVALID_WINDOW" });
  const specs = windows.map(parseWindow);
  for (const w of specs) {
    if ((w.endS - w.startS) / 60 <= cutoffMinutes) {
      throw invalidArgument(`windows: "${w.text}" is not longer than the cutoff (${cutoffMinutes} minutes)`, { reason: "INVALID_WINDOW" });
    }
  }
  if (windows.length === 0 && (tz || cutoffMinutes)) throw invalidArgument("window_tz and cutoff_minutes need at least one window", { reason: "INVALID_WINDOW" });
  return { specs, tz: zone };
}
