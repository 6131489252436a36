import { ShowPatchesResponse } from "../../../sdk/src/index.js";
import { renderShow } from "../../render/show.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit, patchJson, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "show",
  summary: "Show details for specified patches",
  usage: "show <patch-id> ...",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.showPatches({ patchIds: uniqueSorted(positionals) });
    emit(
      ctx,
      ShowPatchesResponse,
      response,
      () => renderShow(response.patches, ctx.termWidth),
      () => ({
        patches: response.patches.map(patchJson),
        unrecognized: response.unrecognized,
      }),
    );
    for (const id of response.unrecognized) ctx.err(`${safeText(id)} is unrecognized\n`);
    return response.unrecognized.length > 0 ? 1 : 0;
  },
};
