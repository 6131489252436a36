import { ApplyPatchesResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emitMessages, uniqueSorted } from "./shared.js";

export const command: Command = {
  name: "apply",
  summary: "Apply one or more patches",
  usage: "apply [--skip-semantic] <patch-id> ... | --all",
  help:
    "  --all             apply every available patch\n  --skip-semantic   skip the pre-apply semantic checks\n" +
    "  --allow-downgrade apply a patch whose security counter is below its release's floor (admin; audited)\n",
  options: { all: { type: "boolean" }, "skip-semantic": { type: "boolean" }, "allow-downgrade": { type: "boolean" } },
  async run(ctx, { values, positionals }) {
    const all = Boolean(values.all);
    if (positionals.length === 0 && !all) return ctx.usageError();
    const response = await ctx.client().patches.applyPatches({
      patchIds: all ? [] : uniqueSorted(positionals),
      all,
      skipSemantic: Boolean(values["skip-semantic"]),
      allowDowngrade: Boolean(values["allow-downgrade"]),
    });
    emitMessages(ctx, ApplyPatchesResponse, response);
    return 0;
  },
};
