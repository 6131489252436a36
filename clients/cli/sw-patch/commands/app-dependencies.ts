import { QueryAppDependenciesResponse, ReportAppDependenciesResponse } from "../../../sdk/src/index.js";
import { renderAppDependencies } from "../../render/app-deps-table.js";
import type { Command } from "../command.js";
import { emit, uniqueSorted } from "./shared.js";

export const reportAppDependencies: Command = {
  name: "report-app-dependencies",
  summary: "Report application patch dependencies (an empty list drops them)",
  usage: "report-app-dependencies --app <app-name> [<patch-id> ...]",
  options: { app: { type: "string" } },
  async run(ctx, { values, positionals }) {
    const app = values.app as string | undefined;
    // The reference needs at least two words ("--app NAME" or two IDs).
    if (positionals.length + (app !== undefined ? 2 : 0) < 2) return ctx.usageError();
    if (!app) {
      ctx.err("Application name must be specified with --app argument.\n");
      return 1;
    }
    const response = await ctx.client().patches.reportAppDependencies({ app, patchIds: uniqueSorted(positionals) });
    if (ctx.debug) emit(ctx, ReportAppDependenciesResponse, response, () => "");
    return 0;
  },
};

export const queryAppDependencies: Command = {
  name: "query-app-dependencies",
  summary: "Query application patch dependencies",
  usage: "query-app-dependencies",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().patches.queryAppDependencies({});
    emit(
      ctx,
      QueryAppDependenciesResponse,
      response,
      () => renderAppDependencies(response.dependencies),
      () => response,
    );
    return 0;
  },
};
