/**
 * `query_patch --file X [--field F] [--trust PEM[:label]]...`: print a patch's metadata as
 * `key: 'value'` lines (reference order). `cert` is the label of the trusted key that verified
 * signature.v2, or 'unknown' when no --trust is given or no given key verifies. Every other check
 * (gzip/tar structure, md5 signature, metadata, contents) still applies and fails with exit 1.
 */
import * as os from "node:os";
import { loadTrustStore, readPatch, type PatchMetadata } from "../../server/domain/patchfile/index.js";
import { isDomainError } from "../../server/domain/errors.js";
import { GetoptError, gnuGetopt, pyRepr } from "../lib/gnu-getopt.js";

export const USAGE = `Usage: query_patch --file <patch> [--field <field>] [--trust <pem>[:<label>]]...
Fields: id, sw_version, status, cert, reboot_required, unremovable, summary, description,
        install_instructions, warnings, apply_active_release_only, contents, requires
`;

/** Field values in the reference's order. */
export function queryFields(m: PatchMetadata, cert: string): [string, string][] {
  return [
    ["id", m.id],
    ["sw_version", m.swVersion],
    ["status", m.status],
    ["cert", cert],
    ["reboot_required", m.rebootRequired ? "Y" : "N"],
    ["unremovable", m.unremovable ? "Y" : "N"],
    ["summary", m.summary],
    ["description", m.description],
    ["install_instructions", m.installInstructions],
    ["warnings", m.warnings],
  ];
}

export async function main(argv: string[]): Promise<number> {
  const err = (m: string) => process.stderr.write(m + "\n");
  let parsed;
  try {
    parsed = gnuGetopt(argv, { file: true, field: true, trust: true, help: false });
  } catch (e) {
    if (!(e instanceof GetoptError)) throw e;
    err(`query_patch: ${e.message}`);
    process.stderr.write(USAGE);
    return 1;
  }
  let file: string | undefined;
  let field: string | undefined;
  const trust: string[] = [];
  for (const [o, a] of parsed.opts) {
    if (o === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (o === "file") file = a;
    else if (o === "field") field = a;
    else if (o === "trust") trust.push(a);
  }
  if (!file || parsed.args.length > 0) {
    process.stderr.write(USAGE);
    return 1;
  }
  try {
    const store = await loadTrustStore(trust);
    const p = await readPatch(file, { trust: store, workDir: os.tmpdir(), requireTrusted: false });
    await p.cleanup();
    const m = p.metadata;
    const fields = queryFields(m, p.trusted ? p.signer : "unknown");
    const extra: [string, string][] = [
      ["apply_active_release_only", m.applyActiveReleaseOnly ? "Y" : "N"],
      ["contents", m.contents.join(" ")],
      ["requires", m.requires.join(" ")],
    ];
    if (field !== undefined) {
      const f = [...fields, ...extra].find(([k]) => k === field);
      if (!f) {
        err(`Unknown field: ${field}`);
        return 1;
      }
      process.stdout.write(`${f[1]}\n`);
      return 0;
    }
    for (const [k, v] of fields) process.stdout.write(`${k}: ${pyRepr(v)}\n`);
    return 0;
  } catch (e) {
    if (isDomainError(e)) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}
