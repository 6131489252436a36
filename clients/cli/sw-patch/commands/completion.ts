import { QueryFilter } from "../../../sdk/src/index.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";

export const command: Command = {
  name: "completion",
  summary: "Words for shell completion: patch IDs or hostnames",
  usage: "completion patches|hosts",
  hidden: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    if (positionals[0] === "patches") {
      const r = await ctx.client().patches.queryPatches({ filter: QueryFilter.QUERY_FILTER_ALL });
      ctx.out(r.patches.map((p) => safeText(p.id)).join(" ") + "\n");
    } else if (positionals[0] === "hosts") {
      const r = await ctx.client().hosts.listHosts({});
      ctx.out(r.hosts.map((h) => safeText(h.hostname)).join(" ") + "\n");
    } else return ctx.usageError();
    return 0;
  },
};
