import { IsAppliedResponse, IsAvailableResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emit, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "is-applied",
  summary: "Query Applied state for list of patches (True/False; exit 0 only for True)",
  usage: "is-applied <patch-id> ...",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.isApplied({ patchIds: uniqueSorted(positionals) });
    emit(
      ctx,
      IsAppliedResponse,
      response,
      () => (response.result ? "True\n" : "False\n"),
      () => response,
    );
    return response.result ? 0 : 1;
  },
};

export const isAvailable: Command = {
  name: "is-available",
  summary: "Query Available state for list of patches (True/False; exit 0 only for True)",
  usage: "is-available <patch-id> ...",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.isAvailable({ patchIds: uniqueSorted(positionals) });
    emit(
      ctx,
      IsAvailableResponse,
      response,
      () => (response.result ? "True\n" : "False\n"),
      () => response,
    );
    return response.result ? 0 : 1;
  },
};
