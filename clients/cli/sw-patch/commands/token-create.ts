import { CreateTokenResponse } from "../../../sdk/src/index.js";
import { debugJson } from "../../render/json.js";
import { utcSeconds } from "../../render/starlingx-table.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";

const ROLES = ["admin", "operator", "reader", "agent"];

/**
 * The token-create output: a short summary, then the token alone on the last line (so
 * `sw-patch token-create ... | tail -n 1 > file` captures it).
 */
export function renderTokenCreated(r: CreateTokenResponse): string {
  const i = r.info;
  let out = `Created ${safeText(i?.role ?? "")} token ${safeText(i?.id ?? "")}`;
  if (i?.hostname) out += ` for host ${safeText(i.hostname)}`;
  out += "\n";
  if (i?.description) out += `Description: ${safeText(i.description)}\n`;
  if (i?.createdAt) out += `Created: ${utcSeconds(i.createdAt)}\n`;
  out += "The token is shown only once; store it now:\n";
  return out + r.token + "\n";
}

export const command: Command = {
  name: "token-create",
  summary: "Create an API token (admin)",
  usage: "token-create --role admin|operator|reader|agent [--host HOSTNAME] [--description TEXT]",
  help:
    "  --role ROLE            admin, operator, reader or agent\n" +
    "  --host HOSTNAME        the host an agent token may act as (agent tokens only)\n" +
    "  --description TEXT     free text shown by token-list\n" +
    "\nThe new token is printed alone on the last line of the output.\n",
  options: { role: { type: "string" }, host: { type: "string" }, description: { type: "string" } },
  async run(ctx, { values, positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const role = values.role as string | undefined;
    if (role === undefined) {
      ctx.err("Error: missing required option: --role\n");
      return 1;
    }
    if (!ROLES.includes(role)) {
      ctx.err(`Error: --role: expected ${ROLES.join(", ")}; got "${role}"\n`);
      return 1;
    }
    const response = await ctx.client().admin.createToken({
      role,
      hostname: (values.host as string | undefined) ?? "",
      description: (values.description as string | undefined) ?? "",
    });
    ctx.out(ctx.debug ? debugJson(CreateTokenResponse.toJSON(response)) : renderTokenCreated(response));
    return 0;
  },
};
