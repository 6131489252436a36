import { ListHostsResponse } from "../../../sdk/src/index.js";
import type { Command } from "../../sw-patch/command.js";
import { emit } from "../../sw-patch/commands/shared.js";
import { hostView, renderHostList, sortHosts } from "../render.js";

export const command: Command = {
  name: "host-list",
  summary: "List hosts",
  usage: "host-list",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().hosts.listHosts({});
    emit(
      ctx,
      ListHostsResponse,
      response,
      () => renderHostList(response.hosts),
      () => ({ hosts: sortHosts(response.hosts).map((h, i) => hostView(h, i + 1)) }),
    );
    return 0;
  },
};
