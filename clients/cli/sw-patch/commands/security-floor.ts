/**
 * FLOOR (issue 21): `sw-patch security-floor [RELEASE]` (each release's anti-rollback floor) and
 * `sw-patch host-receipts HOST [--verify]` (a host's signed install receipts, each signature checked
 * here with the SDK's own verifier). docs/security.md, "Anti-rollback floor and install receipts".
 */
import {
  InstallReceiptListResponse,
  SecurityFloorListResponse,
  readInstallReceipt,
  verifyInstallReceipt,
  type ReceiptCheck,
  type SecurityFloorEntry,
} from "../../../sdk/src/index.js";
import { renderTable } from "../../render/starlingx-table.js";
import { safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

/** The security-floor table (releases without a floor show 0). */
export function renderSecurityFloors(list: readonly SecurityFloorEntry[]): string {
  if (list.length === 0) return "No releases\n";
  return renderTable(
    ["Release", "Security Floor", "Set By", "Updated"],
    list.map((f) => [f.release, String(f.floor), f.patchId, f.updatedAt ? f.updatedAt.replace(/\.\d+Z$/, "Z") : ""]),
  );
}

export const securityFloor: Command = {
  name: "security-floor",
  summary: "Show each release's anti-rollback security floor",
  usage: "security-floor [<release>]",
  help:
    "The floor of a release is the highest security counter (patch_build --security-counter) among its applied\n" +
    "and committed patches. A patch below it is not applied, and the patch that sets it is not removed, unless an\n" +
    "admin passes --allow-downgrade; hosts refuse a package set below their own floor in any case.\n",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 1) return ctx.usageError();
    const response = await ctx.client().patches.securityFloorList({ release: positionals[0] ?? "" });
    emit(ctx, SecurityFloorListResponse, response, () => renderSecurityFloors(response.floors));
    return 0;
  },
};

/** The host-receipts output; `checks` (with --verify) holds one check per receipt. */
export function renderHostReceipts(r: InstallReceiptListResponse, checks: readonly ReceiptCheck[] | undefined): string {
  const host = safeText(r.hostname);
  if (!r.enrolled) {
    return `Host ${host} has no receipt key: its agent is not enrolled, or enrolled before receipt keys (agents run with an admin or --token credential send no install receipts).\n`;
  }
  const key = r.keys.at(-1)!;
  let out = `Host ${host}: ${r.receipts.length} install receipt${r.receipts.length === 1 ? "" : "s"}; receipt key ${safeText(key.keyId.slice(0, 16))} (registered ${safeText(key.registeredAt)})\n`;
  if (r.receipts.length === 0) return out;
  const head = ["Counter", "Operation", "Result", "Floor", "Packages", "Patches", "Received"];
  const rows = r.receipts.map((x, i) => {
    const p = (checks?.[i] ?? readInstallReceipt(x))?.predicate;
    const row = [
      String(x.counter),
      x.operation,
      x.result,
      p ? String(p.securityFloor) : "?",
      String((checks?.[i] ?? readInstallReceipt(x))?.subjects ?? "?"),
      p?.patches?.join(",") ?? "",
      x.receivedAt.replace(/\.\d+Z$/, "Z"),
    ];
    if (checks) row.push(checks[i]!.ok ? "verified" : `INVALID: ${checks[i]!.problem}`);
    return row;
  });
  out += renderTable(checks ? [...head, "Signature"] : head, rows);
  if (checks) {
    const bad = checks.filter((c) => !c.ok).length;
    out += bad === 0 ? `All ${checks.length} receipt signatures verify.\n` : `${bad} of ${checks.length} receipts do not verify.\n`;
  }
  return out;
}

export const hostReceipts: Command = {
  name: "host-receipts",
  summary: "List a host's signed install receipts (--verify: check every signature)",
  usage: "host-receipts <hostname> [--verify]",
  help:
    "  --verify   check each receipt's DSSE signature with the host's registered receipt key, and that its\n" +
    "             statement names the host and the row's counter; exit 1 if any does not verify\n",
  options: { verify: { type: "boolean" } },
  query: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length !== 1) return ctx.usageError();
    const hostname = positionals[0]!;
    const response = await ctx.client().hosts.installReceiptList({ hostname });
    const checks = values.verify ? response.receipts.map((x) => verifyInstallReceipt(hostname, x, response.keys)) : undefined;
    emit(
      ctx,
      InstallReceiptListResponse,
      response,
      () => renderHostReceipts(response, checks),
      () => ({
        hostname: response.hostname,
        enrolled: response.enrolled,
        keys: response.keys.map((k) => ({ keyId: k.keyId, credentialId: k.credentialId, registeredAt: k.registeredAt })),
        receipts: response.receipts.map((x, i) => ({
          counter: x.counter,
          operation: x.operation,
          result: x.result,
          operationId: x.operationId,
          receivedAt: x.receivedAt,
          predicate: (checks?.[i] ?? readInstallReceipt(x))?.predicate,
          ...(checks ? { verified: checks[i]!.ok, problem: checks[i]!.problem } : {}),
        })),
      }),
    );
    return checks && checks.some((c) => !c.ok) ? 1 : 0;
  },
};
