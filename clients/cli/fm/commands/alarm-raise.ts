import { RaiseAlarmResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { emit } from "../../sw-patch/commands/shared.js";
import { renderAlarmShow } from "../render.js";

const SEVERITIES = ["critical", "major", "minor", "warning"];

export const command: Command = {
  name: "alarm-raise",
  summary: "Raise an alarm (sw-patch addition)",
  usage:
    "alarm-raise --alarm-id NNN.NNN --entity ENTITY_ID --severity critical|major|minor|warning\n" + "                 --reason TEXT [--mgmt-affecting] [--repair TEXT]",
  help:
    "  --alarm-id NNN.NNN        alarm identifier, e.g. 900.001\n" +
    "  --entity ENTITY_ID        entity instance id, e.g. host=controller-0\n" +
    "  --severity SEVERITY       critical, major, minor or warning\n" +
    "  --reason TEXT             reason text\n" +
    "  --mgmt-affecting          the alarm blocks management actions (orchestration)\n" +
    "  --repair TEXT             proposed repair action\n",
  options: {
    "alarm-id": { type: "string" },
    entity: { type: "string" },
    severity: { type: "string" },
    reason: { type: "string" },
    "mgmt-affecting": { type: "boolean" },
    repair: { type: "string" },
  },
  async run(ctx, { values, positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const alarmId = values["alarm-id"] as string | undefined;
    const entity = values.entity as string | undefined;
    const severity = values.severity as string | undefined;
    const reason = values.reason as string | undefined;
    if (alarmId === undefined || entity === undefined || severity === undefined || reason === undefined) {
      const missing = [
        alarmId === undefined && "--alarm-id",
        entity === undefined && "--entity",
        severity === undefined && "--severity",
        reason === undefined && "--reason",
      ].filter(Boolean);
      ctx.err(`Error: missing required option${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}\n`);
      return 1;
    }
    if (!/^\d{3}\.\d{3}$/.test(alarmId)) {
      ctx.err(`Error: --alarm-id: expected NNN.NNN, got "${alarmId}"\n`);
      return 1;
    }
    if (!SEVERITIES.includes(severity)) {
      ctx.err(`Error: --severity: must be one of ${SEVERITIES.join(", ")}\n`);
      return 1;
    }
    const response = await ctx.client().hosts.raiseAlarm({
      alarmId,
      entityInstanceId: entity,
      severity,
      reasonText: reason,
      mgmtAffecting: Boolean(values["mgmt-affecting"]),
      proposedRepairAction: (values.repair as string | undefined) ?? "",
    });
    emit(ctx, RaiseAlarmResponse, response, () => (response.alarm ? renderAlarmShow(response.alarm) : ""));
    return 0;
  },
};
