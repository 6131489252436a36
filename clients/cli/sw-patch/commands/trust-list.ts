import { ListTrustedKeysResponse, type TrustedKey } from "../../../sdk/src/index.js";
import { renderTable } from "../../render/starlingx-table.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

/** trust-list: Label and SHA-256 fingerprint of every run-time trusted key. */
export function renderTrustList(keys: readonly TrustedKey[]): string {
  return renderTable(
    ["Label", "Fingerprint (SHA-256)"],
    keys.map((k) => [k.label, k.fingerprintSha256]),
  );
}

export const command: Command = {
  name: "trust-list",
  summary: "List the keys trusted to sign patches (admin)",
  usage: "trust-list",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const response = await ctx.client().admin.listTrustedKeys({});
    emit(ctx, ListTrustedKeysResponse, response, () => renderTrustList(response.keys));
    return 0;
  },
};
