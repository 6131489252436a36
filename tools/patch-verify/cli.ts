/**
 * `patch_verify [--trust PEM[:label]]... FILE...`: fully verify patch files (structure, md5
 * signature, signature.v2 against the trusted keys, metadata, contents, RPM headers, semantics)
 * and print one JSON object per file per line. Exit 0 when all are valid, 1 otherwise.
 */
import * as os from "node:os";
import { loadTrustStore, readPatch } from "../../server/domain/patchfile/index.js";
import { isDomainError } from "../../server/domain/errors.js";
import { GetoptError, gnuGetopt } from "../lib/gnu-getopt.js";

export const USAGE = `Usage: patch_verify [--trust <pem>[:<label>]]... <patch file>...
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = gnuGetopt(argv, { trust: true, help: false });
  } catch (e) {
    if (!(e instanceof GetoptError)) throw e;
    process.stderr.write(`patch_verify: ${e.message}\n${USAGE}`);
    return 1;
  }
  if (parsed.opts.some(([o]) => o === "help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.args.length === 0) {
    process.stderr.write(USAGE);
    return 1;
  }
  let store;
  try {
    store = await loadTrustStore(parsed.opts.filter(([o]) => o === "trust").map(([, a]) => a));
  } catch (e) {
    if (!isDomainError(e)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  let allValid = true;
  for (const file of parsed.args) {
    try {
      const p = await readPatch(file, { trust: store, workDir: os.tmpdir() });
      await p.cleanup();
      const m = p.metadata;
      process.stdout.write(
        JSON.stringify({
          file,
          valid: true,
          id: m.id,
          sw_version: m.swVersion,
          status: m.status,
          summary: m.summary,
          reboot_required: m.rebootRequired,
          unremovable: m.unremovable,
          requires: m.requires,
          contents: m.contents,
          personalities: m.personalities,
          signer: p.signer,
        }) + "\n",
      );
    } catch (e) {
      if (!isDomainError(e)) throw e;
      allValid = false;
      process.stdout.write(JSON.stringify({ file, valid: false, reason: e.message }) + "\n");
    }
  }
  return allValid ? 0 : 1;
}
