import { WhatRequiresResponse, type Requirement } from "../../../sdk/src/index.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit, uniqueSorted } from "./shared.js";

/**
 * The reference's info lines: "X is required by: A, B" / "X is not required by any patches."
 * (IDs terminal-safe).
 */
export function renderRequirements(requirements: readonly Requirement[]): string {
  let info = "";
  for (const raw of requirements) {
    const r = { patchId: safeText(raw.patchId), requiredBy: raw.requiredBy.map(safeText) };
    info += r.requiredBy.length > 0 ? `${r.patchId} is required by: ${[...r.requiredBy].sort().join(", ")}\n` : `${r.patchId} is not required by any patches.\n`;
  }
  return info === "" ? "" : info + "\n";
}

export const command: Command = {
  name: "what-requires",
  summary: "List patches that require the specified patches",
  usage: "what-requires <patch-id> ...",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const response = await ctx.client().patches.whatRequires({ patchIds: uniqueSorted(positionals) });
    emit(
      ctx,
      WhatRequiresResponse,
      response,
      () => renderRequirements(response.requirements),
      () => response,
    );
    return 0;
  },
};
