/**
 * `sw-patch-controller audit-verify --data-dir DIR [--key-id ID]... [--show-key]`: verifies the
 * audit chain of a sqlite data dir directly, read-only, without a running controller (for when
 * the controller itself is suspect). Trusts the data dir's own checkpoint key and the keys
 * registered in the store, or only the `--key-id` ones. Exit 0 when it verifies, 1 when it does
 * not, 2 on bad usage or a data dir it cannot read.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { auditVerdict, verifyAuditLog } from "../domain/auth/index.js";
import { openAuditChainFile } from "../storage/sqlite/audit-chain-store.js";
import { readAuditKey } from "./audit-key.js";

/** `sw-patch-controller audit-verify --help`. */
export const AUDIT_VERIFY_USAGE = `usage: sw-patch-controller audit-verify --data-dir DIR [--key-id ID]... [--show-key]
  --data-dir DIR   the controller's data dir (sqlite store), read-only; the controller may be stopped
  --key-id ID      count only checkpoints signed by this key (repeatable)
  --show-key       print the data dir's checkpoint key (id and public key) first
Prints OK (N rows, M checkpoints), or the first row that does not verify and why.
`;

/** Runs the command; the exit code. */
export async function auditVerifyMain(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { "data-dir": { type: "string" }, "key-id": { type: "string", multiple: true }, "show-key": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (e) {
    err(`sw-patch-controller audit-verify: ${(e as Error).message}\n${AUDIT_VERIFY_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(AUDIT_VERIFY_USAGE);
    return 0;
  }
  const dataDir = values["data-dir"];
  if (!dataDir) {
    err(`sw-patch-controller audit-verify: --data-dir is required\n${AUDIT_VERIFY_USAGE}`);
    return 2;
  }
  const file = path.join(dataDir, "sw-patch.sqlite");
  if (!existsSync(file)) {
    err(`sw-patch-controller audit-verify: ${file}: no such file (is ${dataDir} a controller's data dir with the sqlite store?)\n`);
    return 2;
  }
  const own = await readAuditKey(dataDir);
  if (values["show-key"]) out(own ? `Checkpoint key ${own.signer.key.keyId} (${own.file}):\n${own.signer.key.publicKeyPem}` : `No checkpoint key in ${dataDir}\n`);
  const opened = await openAuditChainFile(file);
  try {
    if (!opened.store) {
      err(`sw-patch-controller audit-verify: ${file} has no audit chain yet (schema before version 12: start the controller once to migrate it)\n`);
      return 2;
    }
    const r = await verifyAuditLog(opened.store, { ...(own ? { ownKey: own.signer.key } : {}), trustedKeyIds: values["key-id"] ?? [] });
    out(auditVerdict(r) + "\n");
    return r.ok ? 0 : 1;
  } finally {
    await opened.close();
  }
}
