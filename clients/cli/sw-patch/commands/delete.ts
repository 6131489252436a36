import { DeletePatchesResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emitMessages, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "delete",
  summary: "Delete one or more patches from the patching system",
  usage: "delete <patch-id> ...",
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.deletePatches({ patchIds: uniqueSorted(positionals) });
    emitMessages(ctx, DeletePatchesResponse, response);
    return 0;
  },
};
