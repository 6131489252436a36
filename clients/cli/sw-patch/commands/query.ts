import { QueryFilter, QueryPatchesResponse } from "../../../sdk/src/index.js";
import { renderPatchTable } from "../../render/patch-table.js";
import type { Command } from "../command.js";
import { emit, patchJson } from "./shared.js";

const FILTERS: Record<string, QueryFilter> = {
  all: QueryFilter.QUERY_FILTER_ALL,
  applied: QueryFilter.QUERY_FILTER_APPLIED,
  available: QueryFilter.QUERY_FILTER_AVAILABLE,
  committed: QueryFilter.QUERY_FILTER_COMMITTED,
};

export const command: Command = {
  name: "query",
  summary: "Query system patches",
  usage: "query [all|applied|available|committed] [--release RELEASE]",
  help: "  all|applied|available|committed   filter by repository state (default all)\n  --release RELEASE                 only patches of this release\n",
  options: { release: { type: "string" } },
  query: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length > 1) return ctx.usageError();
    // The reference treats any other word as "no state filter".
    const filter = FILTERS[positionals[0] ?? "all"] ?? QueryFilter.QUERY_FILTER_ALL;
    const response = await ctx.client().patches.queryPatches({
      filter,
      release: (values.release as string | undefined) ?? "",
    });
    emit(
      ctx,
      QueryPatchesResponse,
      response,
      () => renderPatchTable(response.patches),
      () => ({
        patches: response.patches.map(patchJson),
      }),
    );
    return 0;
  },
};
