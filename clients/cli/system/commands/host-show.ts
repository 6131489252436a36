import { GetHostResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { debugJson } from "../../render/json.js";
import { printHost } from "./show-host.js";

export const command: Command = {
  name: "host-show",
  summary: "Show host attributes",
  usage: "host-show <hostname or ip>",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().hosts.getHost({ host: positionals[0]! });
    if (ctx.debug) ctx.out(debugJson(GetHostResponse.toJSON(response)));
    else if (response.host) await printHost(ctx, response.host);
    return 0;
  },
};
