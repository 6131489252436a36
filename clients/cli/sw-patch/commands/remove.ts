import { RemovePatchesResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emitMessages, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "remove",
  summary: "Remove one or more patches",
  usage: "remove [--skip-semantic] [--skipappcheck] <patch-id> ...",
  help:
    "  --skip-semantic   skip the pre-remove semantic checks\n  --skipappcheck    ignore application dependencies\n" +
    "  --allow-downgrade remove the patch that sets its release's security floor, lowering it (admin; audited)\n",
  options: {
    "skip-semantic": { type: "boolean" },
    skipappcheck: { type: "boolean" },
    removeunremovable: { type: "boolean" },
    "allow-downgrade": { type: "boolean" },
  },
  async run(ctx, { values, positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.removePatches({
      patchIds: uniqueSorted(positionals),
      skipSemantic: Boolean(values["skip-semantic"]),
      skipAppCheck: Boolean(values.skipappcheck),
      removeUnremovable: Boolean(values.removeunremovable),
      allowDowngrade: Boolean(values["allow-downgrade"]),
    });
    emitMessages(ctx, RemovePatchesResponse, response);
    return 0;
  },
};
