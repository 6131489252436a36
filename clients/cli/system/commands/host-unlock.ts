import { UnlockHostResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { debugJson } from "../../render/json.js";
import { printHost } from "./show-host.js";

export const command: Command = {
  name: "host-unlock",
  summary: "Unlock a host",
  usage: "host-unlock <hostname or ip>",
  help: "A host that needs a reboot (a reboot-required patch was installed) is rebooted by its agent.\n",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().hosts.unlockHost({ host: positionals[0]! });
    if (ctx.debug) ctx.out(debugJson(UnlockHostResponse.toJSON(response)));
    else if (response.host) await printHost(ctx, response.host);
    return 0;
  },
};
