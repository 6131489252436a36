import type { Host } from "../../../sdk/src/index.js";
import type { CommandContext } from "../../sw-patch/command.js";
import { formatJson } from "../../render/json.js";
import { hostId, hostView, renderHostShow } from "../render.js";

/**
 * Prints `host` as host-show does (cgts-client prints the host this way after host-lock,
 * host-unlock and host-swact too). The id comes from the current host list.
 */
export async function printHost(ctx: CommandContext, host: Host): Promise<void> {
  const { hosts } = await ctx.client().hosts.listHosts({});
  const id = hostId(hosts, host.hostname);
  ctx.out(ctx.json ? formatJson({ host: hostView(host, id) }) : renderHostShow(host, id));
}
