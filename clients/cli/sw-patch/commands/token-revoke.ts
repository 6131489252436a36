import type { Command } from "../command.js";

export const command: Command = {
  name: "token-revoke",
  summary: "Revoke an API token (admin)",
  usage: "token-revoke <token-id>",
  help: "The token is refused from its next call on. Revoking a revoked token does nothing.\n",
  async run(ctx, { positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const id = positionals[0]!;
    await ctx.client().admin.revokeToken({ id });
    ctx.out(ctx.debug ? "{}\n" : `Token ${id} has been revoked\n`);
    return 0;
  },
};
