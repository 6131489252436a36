import { DelReleaseResponse, InitReleaseResponse } from "../../../sdk/src/index.js";
import type { Command } from "../command.js";
import { emitMessages } from "./shared.js";

export const initRelease: Command = {
  name: "init-release",
  summary: "Create an empty patch repository for a release (upgrades)",
  usage: "init-release <release>",
  hidden: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().patches.initRelease({ release: positionals[0]! });
    emitMessages(ctx, InitReleaseResponse, response);
    return 0;
  },
};

export const delRelease: Command = {
  name: "del-release",
  summary: "Delete a release's patches, packages and repository",
  usage: "del-release <release>",
  hidden: true,
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const response = await ctx.client().patches.delRelease({ release: positionals[0]! });
    emitMessages(ctx, DelReleaseResponse, response);
    return 0;
  },
};
