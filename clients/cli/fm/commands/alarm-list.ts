import { ListAlarmsResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { emit } from "../../sw-patch/commands/shared.js";
import { alarmView, renderAlarmList, sortAlarms } from "../render.js";

export const command: Command = {
  name: "alarm-list",
  summary: "List all active alarms",
  usage: "alarm-list",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().hosts.listAlarms({});
    emit(
      ctx,
      ListAlarmsResponse,
      response,
      () => renderAlarmList(response.alarms),
      () => ({ alarms: sortAlarms(response.alarms).map(alarmView) }),
    );
    return 0;
  },
};
