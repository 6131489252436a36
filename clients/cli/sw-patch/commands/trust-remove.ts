import type { Command } from "../command.js";

export const command: Command = {
  name: "trust-remove",
  summary: "Stop trusting a key added with trust-add (admin)",
  usage: "trust-remove <label>",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const label = positionals[0]!;
    await ctx.client().admin.removeTrustedKey({ label });
    ctx.out(ctx.debug ? "{}\n" : `Trusted key ${label} removed\n`);
    return 0;
  },
};
