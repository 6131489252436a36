import { LockHostResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { debugJson } from "../../render/json.js";
import { printHost } from "./show-host.js";

export const command: Command = {
  name: "host-lock",
  summary: "Lock a host",
  usage: "host-lock [--force] <hostname or ip>",
  help:
    "  --force   lock even the last unlocked controller or the active controller\n" +
    "\nA controller is refused when it is the only unlocked controller or the active one (swact it first).\n",
  options: { force: { type: "boolean", short: "f" } },
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().hosts.lockHost({ host: positionals[0]!, force: Boolean(values.force) });
    if (ctx.debug) ctx.out(debugJson(LockHostResponse.toJSON(response)));
    else if (response.host) await printHost(ctx, response.host);
    return 0;
  },
};
