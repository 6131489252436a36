import { ListAuditLogResponse, type AuditEntry } from "../../../sdk/src/index.js";
import { renderTable, utcSeconds } from "../../render/starlingx-table.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

/** audit-log: ID, Time, Actor, Role, Action, Target, Outcome (ascending ids). */
export function renderAuditLog(entries: readonly AuditEntry[]): string {
  return renderTable(
    ["ID", "Time", "Actor", "Role", "Action", "Target", "Outcome"],
    entries.map((e) => [e.id, utcSeconds(e.time), e.actor, e.role, e.action, e.target, e.outcome]),
  );
}

function count(value: unknown, name: string): number | string {
  if (value === undefined) return 0;
  const s = String(value);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return `Error: ${name}: expected a non-negative integer, got "${s}"`;
  return Number(s);
}

export const command: Command = {
  name: "audit-log",
  summary: "Show the audit log of operator and admin calls (admin)",
  usage: "audit-log [--after ID] [--limit N]",
  help: "  --after ID     only entries with an id greater than ID\n" + "  --limit N      at most N entries (default 100, at most 1000)\n",
  options: { after: { type: "string" }, limit: { type: "string" } },
  query: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    const afterId = count(values.after, "--after");
    const limit = count(values.limit, "--limit");
    for (const v of [afterId, limit]) {
      if (typeof v === "string") {
        ctx.err(v + "\n");
        return 1;
      }
    }
    if ((limit as number) > 0xffffffff) {
      ctx.err("Error: --limit: too large\n");
      return 1;
    }
    const response = await ctx.client().admin.listAuditLog({ afterId: afterId as number, limit: limit as number });
    emit(
      ctx,
      ListAuditLogResponse,
      response,
      () => renderAuditLog(response.entries),
      () => ({ entries: response.entries.map((e) => ({ ...e, time: e.time?.toISOString() })) }),
    );
    return 0;
  },
};
