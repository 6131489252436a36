import type { AlarmRestrictionName } from "./model.js";
import type { AlarmSnapshot } from "./ports.js";

/** Built-in sw-patch ignore list (spec orchestration §14). */
export const IGNORED_ALARM_IDS: readonly string[] = Object.freeze(["900.001", "900.005", "900.101", "200.001", "700.004", "280.002", "100.119", "900.701"]);

/** App auto-apply alarm: conditionally ignored (§14). */
export const APP_APPLY_ALARM_ID = "750.006";

/** Seconds 750.006 may stay raised before wait-alarms-clear ignores it (b352f41 value). */
export const APP_APPLY_ALARM_GRACE_S = 1800;

export type AlarmContext = "query-alarms" | "wait-alarms-clear" | "wait-data-sync";

/**
 * The alarms that block in `context` under `restriction` (§14). `extraIgnored` adds ids
 * (VIM `ignore_alarms`); `now` and `graceMs` decide the 750.006 rule in wait-alarms-clear.
 */
export function blockingAlarms(
  alarms: readonly AlarmSnapshot[],
  opts: { restriction: AlarmRestrictionName; context: AlarmContext; extraIgnored?: readonly string[]; now?: Date; graceMs?: number },
): AlarmSnapshot[] {
  const ignored = new Set([...IGNORED_ALARM_IDS, ...(opts.extraIgnored ?? [])]);
  const now = (opts.now ?? new Date()).getTime();
  const graceMs = opts.graceMs ?? APP_APPLY_ALARM_GRACE_S * 1000;
  return alarms.filter((a) => {
    if (ignored.has(a.alarmId)) return false;
    if (a.alarmId === APP_APPLY_ALARM_ID) {
      if (opts.context === "query-alarms") return false;
      if (opts.context === "wait-alarms-clear" && now - a.raisedAt.getTime() > graceMs) return false;
    }
    if (opts.restriction === "relaxed" && !a.mgmtAffecting) return false;
    return true;
  });
}

/**
 * The alarms for a reason text: `100.114 (host=controller-0.ntp), 750.002 (...)`, sorted by id then
 * entity; at most `max` of them, then `and N more`.
 */
export function describeAlarms(alarms: readonly AlarmSnapshot[], max = 5): string {
  const sorted = [...alarms].sort((a, b) => (a.alarmId === b.alarmId ? (a.entityInstanceId < b.entityInstanceId ? -1 : 1) : a.alarmId < b.alarmId ? -1 : 1));
  const shown = sorted.slice(0, max).map((a) => `${a.alarmId} (${a.entityInstanceId})`);
  return sorted.length > max ? `${shown.join(", ")} and ${sorted.length - max} more` : shown.join(", ");
}

/** Python-repr list of ids, e.g. `['100.101', '200.004']`. */
export function pyList(items: readonly string[]): string {
  return `[${items.map((i) => `'${i}'`).join(", ")}]`;
}
