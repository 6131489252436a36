import { NotFoundError, SwactHostResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { debugJson } from "../../render/json.js";
import { printHost } from "./show-host.js";

export const command: Command = {
  name: "host-swact",
  summary: "Switch activity away from the active controller",
  usage: "host-swact <hostname or ip>",
  help: "Moves the active role from the given (active) controller to the unlocked, connected standby.\n",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const hosts = ctx.client().hosts;
    const response = await hosts.swactHost({ host: positionals[0]! });
    if (ctx.debug) {
      ctx.out(debugJson(SwactHostResponse.toJSON(response)));
      return 0;
    }
    // Like cgts-client: show the host the activity moved away from (now Controller-Standby).
    let host;
    try {
      ({ host } = await hosts.getHost({ host: positionals[0]! }));
    } catch (e) {
      // A controller pair whose controllers are not in the host inventory: say where the activity went.
      if (!(e instanceof NotFoundError)) throw e;
      ctx.out(`Activity moved from ${positionals[0]!} to ${response.activeController || "the standby controller"}\n`);
      return 0;
    }
    if (host) await printHost(ctx, host);
    return 0;
  },
};
