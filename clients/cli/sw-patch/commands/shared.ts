import { agentStateLabel, patchStateLabel, repoStateLabel, type Host, type OperationMessages, type Patch } from "../../../sdk/src/index.js";
import { debugJson, formatJson } from "../../render/json.js";
import { renderMessages } from "../../render/messages.js";
import { hostStateCell, patchCurrentCell } from "../../render/hosts-table.js";
import { adminLabel, availabilityLabel, operationalLabel } from "../../system/render.js";
import type { CommandContext } from "../command.js";

/** A message type's proto-JSON mapping (the generated `X.toJSON`). */
export interface ToJson<T> {
  toJSON(message: T): unknown;
}

/**
 * Prints a response: with --debug its proto JSON (sorted, indent 4), with --format json the
 * `json()` view, else the formatted text from `render()`.
 */
export function emit<T>(ctx: CommandContext, type: ToJson<T>, response: T, render: () => string, json?: () => unknown): void {
  if (ctx.debug) ctx.out(debugJson(type.toJSON(response)));
  else if (ctx.json) ctx.out(formatJson(json ? json() : type.toJSON(response)));
  else ctx.out(render());
}

/** Prints an operation's info/warning (or its JSON with --debug). */
export function emitMessages<T extends { messages?: OperationMessages | undefined }>(ctx: CommandContext, type: ToJson<T>, response: T): void {
  emit(ctx, type, response, () => renderMessages(response.messages));
}

/** Sorted, de-duplicated IDs (the reference's request lists). */
export function uniqueSorted(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort();
}

/** A patch for `--format json`: every field, states as the reference's words. */
export function patchJson(p: Patch): Record<string, unknown> {
  return {
    ...p,
    repoState: repoStateLabel(p.repoState),
    patchState: patchStateLabel(p.patchState),
    uploadedAt: p.uploadedAt?.toISOString(),
  };
}

/** A host for `--format json`: every field, every enum as its word (states as query-hosts shows them). */
export function hostJson(h: Host): Record<string, unknown> {
  return {
    ...h,
    adminState: adminLabel(h.adminState),
    operationalState: operationalLabel(h.operationalState),
    availability: availabilityLabel(h.availability),
    patchCurrent: patchCurrentCell(h),
    agentState: agentStateLabel(h.agentState),
    state: hostStateCell(h),
    lastSeen: h.lastSeen?.toISOString(),
  };
}
