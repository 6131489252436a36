import { GetAlarmResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { emit } from "../../sw-patch/commands/shared.js";
import { alarmView, renderAlarmShow } from "../render.js";

export const command: Command = {
  name: "alarm-show",
  summary: "Show an active alarm",
  usage: "alarm-show <uuid>",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().hosts.getAlarm({ uuid: positionals[0]! });
    const alarm = response.alarm;
    emit(
      ctx,
      GetAlarmResponse,
      response,
      () => (alarm ? renderAlarmShow(alarm) : ""),
      () => ({ alarm: alarm ? alarmView(alarm) : null }),
    );
    return 0;
  },
};
