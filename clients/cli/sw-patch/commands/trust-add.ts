import { readFileSync } from "node:fs";
import { AddTrustedKeyResponse } from "../../../sdk/src/index.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

export const command: Command = {
  name: "trust-add",
  summary: "Trust a certificate or public key for patch signatures (admin)",
  usage: "trust-add --label LABEL <pem-file>",
  help: "  --label LABEL   the name the key is listed and removed by\n",
  options: { label: { type: "string" } },
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const label = values.label as string | undefined;
    if (!label) {
      ctx.err("Error: missing required option: --label\n");
      return 1;
    }
    const pem = readFileSync(positionals[0]!, "utf8");
    const response = await ctx.client().admin.addTrustedKey({ label, pem });
    emit(
      ctx,
      AddTrustedKeyResponse,
      response,
      () => `Trusted key ${safeText(response.key?.label ?? label)} added (SHA-256 ${safeText(response.key?.fingerprintSha256 ?? "")})\n`,
    );
    return 0;
  },
};
