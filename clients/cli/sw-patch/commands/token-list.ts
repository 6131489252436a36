import { ListTokensResponse, type TokenInfo } from "../../../sdk/src/index.js";
import { renderTable, utcSeconds } from "../../render/starlingx-table.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

/** token-list: ID, Role, Host, Created, Revoked, Description (the controller's order, oldest first). */
export function renderTokenList(tokens: readonly TokenInfo[]): string {
  return renderTable(
    ["ID", "Role", "Host", "Created", "Revoked", "Description"],
    tokens.map((t) => [t.id, t.role, t.personality ? `${t.hostname} (${t.personality})` : t.hostname, utcSeconds(t.createdAt), t.revoked ? "yes" : "no", t.description]),
  );
}

export const command: Command = {
  name: "token-list",
  summary: "List API tokens (admin)",
  usage: "token-list",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().admin.listTokens({});
    emit(
      ctx,
      ListTokensResponse,
      response,
      () => renderTokenList(response.tokens),
      () => ({ tokens: response.tokens.map((t) => ({ ...t, createdAt: t.createdAt?.toISOString() })) }),
    );
    return 0;
  },
};
