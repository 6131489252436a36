import { ListHostsResponse } from "../../../sdk/src/index.js";
import { renderHostsTable } from "../../render/hosts-table.js";
import type { Command } from "../command.js";
import { emit, hostJson } from "./shared.js";

export const command: Command = {
  name: "query-hosts",
  summary: "Query patch states for hosts in the system",
  usage: "query-hosts",
  query: true,
  notInSystemController: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().hosts.listHosts({});
    emit(
      ctx,
      ListHostsResponse,
      response,
      () => renderHostsTable(response.hosts),
      () => ({
        hosts: response.hosts.map(hostJson),
      }),
    );
    return 0;
  },
};
