import type { Command } from "../../sw-patch/command.js";

export const command: Command = {
  name: "alarm-delete",
  summary: "Delete (clear) an active alarm",
  usage: "alarm-delete <uuid>",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const uuid = positionals[0]!;
    await ctx.client().hosts.clearAlarm({ uuid });
    ctx.out(ctx.debug ? "{}\n" : `Deleted alarm uuid ${uuid}\n`);
    return 0;
  },
};
