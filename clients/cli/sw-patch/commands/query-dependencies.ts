import { QueryDependenciesResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emit, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "query-dependencies",
  summary: "List dependencies for specified patch",
  usage: "query-dependencies <patch-id> ... [--recursive]",
  help: "  --recursive   the full transitive closure (default: direct requirements only)\n",
  options: { recursive: { type: "boolean" } },
  query: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.queryDependencies({
      patchIds: uniqueSorted(positionals),
      recursive: Boolean(values.recursive),
    });
    emit(
      ctx,
      QueryDependenciesResponse,
      response,
      () =>
        [...response.patchIds]
          .sort()
          .map((id) => id + "\n")
          .join(""),
      () => response,
    );
    return 0;
  },
};
