/** How `fm` shows alarms: fmclient's alarm-list and alarm-show tables. */
import type { Alarm } from "../../sdk/src/index.js";
import { renderPropertyTable, renderTable, starlingxTimestamp } from "../render/starlingx-table.js";

/** Python's str() of a bool. */
const pyBool = (b: boolean) => (b ? "True" : "False");

/** Alarms oldest first (the controller's order), ties by UUID. */
export function sortAlarms(alarms: readonly Alarm[]): Alarm[] {
  const t = (a: Alarm) => a.time?.getTime() ?? 0;
  return [...alarms].sort((a, b) => t(a) - t(b) || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
}

/**
 * `fm alarm-list` (fmclient with --uuid): UUID, Alarm ID, Reason Text, Entity ID, Severity,
 * Time Stamp.
 */
export function renderAlarmList(alarms: readonly Alarm[]): string {
  return renderTable(
    ["UUID", "Alarm ID", "Reason Text", "Entity ID", "Severity", "Time Stamp"],
    sortAlarms(alarms).map((a) => [a.uuid, a.alarmId, a.reasonText, a.entityInstanceId, a.severity, starlingxTimestamp(a.time)]),
  );
}

/** One alarm under fmclient's property names (also the `--format json` view). */
export function alarmView(a: Alarm): Record<string, string | boolean> {
  return {
    alarm_id: a.alarmId,
    alarm_state: "set",
    entity_instance_id: a.entityInstanceId,
    mgmt_affecting: a.mgmtAffecting,
    proposed_repair_action: a.proposedRepairAction,
    reason_text: a.reasonText,
    severity: a.severity,
    timestamp: starlingxTimestamp(a.time),
    uuid: a.uuid,
  };
}

/** `fm alarm-show`: the Property / Value table of one alarm, properties in alphabetical order. */
export function renderAlarmShow(a: Alarm): string {
  const v = alarmView(a);
  return renderPropertyTable(
    Object.keys(v)
      .sort()
      .map((k) => {
        const value = v[k]!;
        return [k, typeof value === "boolean" ? pyBool(value) : value === "" ? "None" : value] as const;
      }),
  );
}
