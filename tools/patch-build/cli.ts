/**
 * `patch_build`: build a signed `.patch` (reference: cgcs_patch.patch_functions.patch_build).
 * Usage: patch_build [ <args> ] ... <rpm list>; see USAGE.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { buildPatch, PERSONALITY_TYPES, type BuildPatchRpm } from "../../server/domain/patchfile/index.js";
import { loadDsseSigningKey } from "../../server/domain/patchfile/dsse.js";
import type { KeyObject } from "node:crypto";
import { isDomainError } from "../../server/domain/errors.js";
import { GetoptError, gnuGetopt, type LongOptions } from "../lib/gnu-getopt.js";

export const USAGE = `Usage: patch_build [ <args> ] ... <rpm list>
Options:
--id <id>                   Patch ID
--release <version>         Platform release version (default: $PLATFORM_RELEASE)
--status <status>           Patch Status Code (DEV, REL, OBS; default DEV)
--unremovable               Marks patch as unremovable
--reboot-required <Y|N>     Marks patch as reboot-required (default=Y)
--summary <summary>         Patch Summary
--desc <description>        Patch Description
--warn <warnings>           Patch Warnings
--inst <instructions>       Patch Install Instructions
--req <patch_id>            Required Patch
--controller <rpm>          New package for controller
--worker <rpm>              New package for worker node
--worker-lowlatency <rpm>   New package for worker-lowlatency node
--storage <rpm>             New package for storage node
--controller-worker <rpm>   New package for combined node
--controller-worker-lowlatency <rpm>   New package for lowlatency
                                       combined node
--all-nodes <rpm>           New package for all node types
--pre-apply <script>        Semantic check run before apply
--pre-remove <script>       Semantic check run before remove
--apply-active-release-only Patch may only be applied to the running release
--security-counter <N>      Anti-rollback security counter of the release line (an element the
                            reference ignores); controllers and agents refuse a patch below
                            their floor
--key <pem>                 RSA private key to sign with (default: $SWPATCH_SIGNING_KEY, else
                            the controller's local key $SWPATCH_DATA_DIR/signing/local-signing-key.pem)
--output-dir <dir>          Where to write <id>.patch (default: current directory)
--sign-key <pem>            Also sign the patch in a member signature.dsse (DSSE; Ed25519, ECDSA P-256
                            or RSA key; repeatable, one signature per key; see patch_sign)
--help                      Show this help

A bare RPM (one in <rpm list>, given without a node-type option) is carried in the patch for no
node type: it updates the package on the hosts that already have it installed, and installs nothing
on a host that lacks it. For a package the hosts do not have yet, name the node types that should
get it (--controller, --worker, --storage, ... or --all-nodes).
`;

const OPTIONS: LongOptions = {
  help: false,
  id: true,
  release: true,
  summary: true,
  status: true,
  unremovable: false,
  "reboot-required": true,
  desc: true,
  warn: true,
  inst: true,
  req: true,
  controller: true,
  worker: true,
  "worker-lowlatency": true,
  storage: true,
  "controller-worker": true,
  "controller-worker-lowlatency": true,
  "all-nodes": true,
  "pre-apply": true,
  "pre-remove": true,
  "apply-active-release-only": false,
  "security-counter": true,
  key: true,
  "output-dir": true,
  // issue 21 (TRUSTROOT): DSSE signatures in signature.dsse.
  "sign-key": true,
};

/** Entry point; returns the exit code. Never throws for expected errors. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const err = (m: string) => process.stderr.write(m.endsWith("\n") ? m : m + "\n");
  let parsed;
  try {
    parsed = gnuGetopt(argv, OPTIONS);
  } catch (e) {
    if (!(e instanceof GetoptError)) throw e;
    err(`patch_build: ${e.message}`);
    process.stderr.write(USAGE);
    return 1;
  }
  let id: string | undefined;
  let release = env.PLATFORM_RELEASE;
  let status = "DEV";
  let summary: string | undefined;
  let description: string | undefined;
  let warnings: string | undefined;
  let installInstructions: string | undefined;
  let unremovable = false;
  let rebootRequired = true;
  let applyActiveReleaseOnly = false;
  let preApply: string | undefined;
  let securityCounter = 0;
  let preRemove: string | undefined;
  // The controller's local signing key (made at its first start in <data-dir>/signing/) when no key is named.
  let keyPath = env.SWPATCH_SIGNING_KEY || (env.SWPATCH_DATA_DIR ? path.join(env.SWPATCH_DATA_DIR, "signing", "local-signing-key.pem") : undefined);
  let outputDir = process.cwd();
  const requires: string[] = [];
  const rpms: BuildPatchRpm[] = [];
  const signKeyPaths: string[] = []; // issue 21 (TRUSTROOT)
  for (const [opt, arg] of parsed.opts) {
    switch (opt) {
      case "help":
        process.stdout.write(USAGE);
        return 0;
      case "id":
        id = arg;
        break;
      case "release":
        release = arg;
        break;
      case "summary":
        summary = arg;
        break;
      case "status":
        status = arg;
        break;
      case "desc":
        description = arg;
        break;
      case "warn":
        warnings = arg;
        break;
      case "inst":
        installInstructions = arg;
        break;
      case "unremovable":
        unremovable = true;
        break;
      case "reboot-required":
        if (arg !== "Y" && arg !== "N") {
          err("The --reboot-required option requires either Y or N as argument.");
          return 1;
        }
        rebootRequired = arg === "Y";
        break;
      case "req":
        requires.push(arg);
        break;
      case "all-nodes":
        rpms.push({ path: arg, personalities: [...PERSONALITY_TYPES] });
        break;
      case "pre-apply":
        preApply = arg;
        break;
      case "pre-remove":
        preRemove = arg;
        break;
      case "apply-active-release-only":
        applyActiveReleaseOnly = true;
        break;
      case "security-counter":
        // FLOOR (issue 21)
        if (!/^[0-9]{1,16}$/.test(arg) || !Number.isSafeInteger(Number(arg))) {
          err(`The --security-counter option requires a whole number from 0 to ${Number.MAX_SAFE_INTEGER}.`);
          return 1;
        }
        securityCounter = Number(arg);
        break;
      case "key":
        keyPath = arg;
        break;
      case "output-dir":
        outputDir = arg;
        break;
      case "sign-key": // issue 21 (TRUSTROOT)
        signKeyPaths.push(arg);
        break;
      default:
        rpms.push({ path: arg, personalities: [opt] });
    }
  }
  if (!id) {
    err("The --id argument is mandatory.");
    return 1;
  }
  for (const a of parsed.args) rpms.push({ path: a });
  if (rpms.length === 0) {
    err("Cannot generate empty patch");
    return 1;
  }
  if (!release) {
    err("The release version must be specified in the sw_version field");
    return 1;
  }
  if (!keyPath) {
    err("Could not find signing key");
    return 1;
  }
  let keyPem: string;
  try {
    keyPem = await fsp.readFile(keyPath, "utf8");
  } catch {
    err(`Could not find signing key: ${keyPath}`);
    return 1;
  }
  // issue 21 (TRUSTROOT): the keys of signature.dsse.
  const dsseKeys: KeyObject[] = [];
  for (const p of signKeyPaths) {
    let pem: string;
    try {
      pem = await fsp.readFile(p, "utf8");
    } catch {
      err(`Could not find signing key: ${p}`);
      return 1;
    }
    try {
      dsseKeys.push(loadDsseSigningKey(pem, p));
    } catch (e) {
      err((e as Error).message);
      return 1;
    }
  }
  try {
    const built = await buildPatch({
      id,
      swVersion: release,
      status,
      ...(summary !== undefined ? { summary } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(warnings !== undefined ? { warnings } : {}),
      ...(installInstructions !== undefined ? { installInstructions } : {}),
      unremovable,
      rebootRequired,
      applyActiveReleaseOnly,
      ...(securityCounter ? { securityCounter } : {}),
      requires,
      rpms,
      ...(preApply ? { preApply } : {}),
      ...(preRemove ? { preRemove } : {}),
      signingKey: keyPem,
      ...(dsseKeys.length ? { dsseKeys } : {}),
      outputDir,
    });
    process.stdout.write(`Patch is ${built.path}\n`);
    return 0;
  } catch (e) {
    if (isDomainError(e)) {
      err(e.message);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES") {
      err(`File does not exist: ${(e as NodeJS.ErrnoException).path ?? ""}`);
      return 1;
    }
    throw e;
  }
}
