import { AuditChainVerifyResponse } from "../../../sdk/src/index.js";
import { safeBlock, safeText } from "../../render/safe-text.js";
import type { Command } from "../command.js";
import { emit } from "./shared.js";

/** The verdict line: "OK (N rows, M checkpoints)" or the first row that does not verify and why. */
export function renderAuditVerify(r: AuditChainVerifyResponse): string {
  if (r.ok) return `OK (${r.rows} rows, ${r.checkpoints} checkpoints)\n`;
  const why = safeText(r.reason);
  return r.badRowId ? `FAILED: row id ${r.badRowId} (seq ${r.badSeq}): ${why}\n` : `FAILED: ${why}\n`;
}

/** `--show-key`: this controller's checkpoint key, then every key registered in the store. */
function renderKeys(r: AuditChainVerifyResponse): string {
  const own = r.key;
  const others = r.registeredKeys.filter((k) => k.keyId !== own?.keyId);
  return (
    (own ? `Checkpoint key ${safeText(own.keyId)} (this controller):\n${safeBlock(own.publicKeyPem)}` : "") +
    others.map((k) => `Registered checkpoint key ${safeText(k.keyId)}:\n${safeBlock(k.publicKeyPem)}`).join("")
  );
}

export const command: Command = {
  name: "audit-verify",
  summary: "Verify the audit log's hash chain and signed checkpoints (admin)",
  usage: "audit-verify [--key-id ID]... [--checkpoint] [--show-key]",
  help:
    "  --key-id ID    count only checkpoints signed by this key (repeatable; default: this\n" +
    "                 controller's key and every key registered in the store)\n" +
    "  --checkpoint   sign a checkpoint of the rows stored so far first\n" +
    "  --show-key     print the checkpoint keys (id and public key) before the verdict\n" +
    "Prints OK (N rows, M checkpoints), or the first row that does not verify and why (exit 1).\n" +
    "When the controller itself is suspect, verify its stopped data dir on the controller's host:\n" +
    "  sw-patch-controller audit-verify --data-dir DIR [--key-id ID]...\n",
  options: { "key-id": { type: "string", multiple: true }, checkpoint: { type: "boolean" }, "show-key": { type: "boolean" }, "data-dir": { type: "string" } },
  query: true,
  async run(ctx, { values, positionals }) {
    if (positionals.length > 0) return ctx.usageError();
    if (values["data-dir"] !== undefined) {
      ctx.err("Error: --data-dir: the offline check runs on the controller's host: sw-patch-controller audit-verify --data-dir DIR\n");
      return 1;
    }
    const ids = ((values["key-id"] as string[] | undefined) ?? []).map((s) => s.trim());
    const response = await ctx.client().admin.auditChainVerify({ trustedKeyIds: ids, checkpointFirst: values.checkpoint === true });
    emit(
      ctx,
      AuditChainVerifyResponse,
      response,
      () => (values["show-key"] ? renderKeys(response) : "") + renderAuditVerify(response),
      () => ({ ...response, latestCheckpoint: response.latestCheckpoint && { ...response.latestCheckpoint, time: response.latestCheckpoint.time?.toISOString() } }),
    );
    return response.ok ? 0 : 1;
  },
};
