/**
 * `patch_sign --key KEY.pem [--key KEY2.pem]... FILE.patch...`: add DSSE signatures (member
 * `signature.dsse`, issue 21) to built patches. The reference's members are copied byte for byte;
 * the file is replaced by temp + rename. Prints `FILE: signed by N key(s): <keyid>...` per file.
 */
import { promises as fsp } from "node:fs";
import type { KeyObject } from "node:crypto";
import { loadDsseSigningKey } from "../../server/domain/patchfile/dsse.js";
import { signPatchFile } from "../../server/domain/patchfile/patch-dsse.js";
import { isDomainError } from "../../server/domain/errors.js";
import { GetoptError, gnuGetopt, type LongOptions } from "../lib/gnu-getopt.js";

export const USAGE = `Usage: patch_sign --key <pem> [--key <pem>]... <patch>...
Adds a signature by each key to the patch's member signature.dsse (a DSSE envelope over the
sha256 of metadata.tar, software.tar and semantics.tar), creating it when absent. Keys: PEM
Ed25519, ECDSA P-256 or RSA (2048 bits or more). The reference's members are left as they are.
--key <pem>    private key to sign with (repeatable)
--help         Show this help
`;

const OPTIONS: LongOptions = { help: false, key: true };

/** Entry point; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const err = (m: string) => process.stderr.write(m.endsWith("\n") ? m : m + "\n");
  let parsed;
  try {
    parsed = gnuGetopt(argv, OPTIONS);
  } catch (e) {
    if (!(e instanceof GetoptError)) throw e;
    err(`patch_sign: ${e.message}`);
    process.stderr.write(USAGE);
    return 1;
  }
  const keyPaths: string[] = [];
  for (const [opt, arg] of parsed.opts) {
    if (opt === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (opt === "key") keyPaths.push(arg);
  }
  if (keyPaths.length === 0 || parsed.args.length === 0) {
    process.stderr.write(USAGE);
    return 1;
  }
  const keys: KeyObject[] = [];
  for (const p of keyPaths) {
    try {
      keys.push(loadDsseSigningKey(await fsp.readFile(p, "utf8"), p));
    } catch (e) {
      err(isDomainError(e) ? e.message : `Could not find signing key: ${p}`);
      return 1;
    }
  }
  let ok = true;
  for (const file of parsed.args) {
    try {
      const ids = await signPatchFile(file, keys);
      process.stdout.write(`${file}: signed by ${ids.length} key(s): ${ids.join(" ")}\n`);
    } catch (e) {
      ok = false;
      const code = (e as NodeJS.ErrnoException).code;
      if (isDomainError(e)) err(`${file}: ${e.message}`);
      else if (code === "ENOENT" || code === "EACCES") err(`File does not exist: ${file}`);
      else throw e;
    }
  }
  return ok ? 0 : 1;
}
