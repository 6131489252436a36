import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { TrustRootGetResponse, type TrustRootInfo } from "../../../sdk/src/index.js";
import { makeTrustRoot, parseDuration, readTrustRoot, signTrustRoot } from "../../../sdk/src/trust-root.js";
import { safeText } from "../../render/safe-text.js";
import type { Command, CommandContext } from "../command.js";
import { emit } from "./shared.js";

/** trust-root show: the installed root, its roles and who signed it. */
export function renderTrustRoot(r: TrustRootInfo | undefined): string {
  if (!r) return "No root of trust is installed (uploads are checked against the trusted keys, sw-patch trust-list)\n";
  const lines = [
    `Root of trust version ${r.version}, expires ${safeText(r.expires)}${r.expired ? " (EXPIRED: uploads are refused until it is rotated)" : ""}`,
    `  sha256:       ${safeText(r.sha256)}`,
    `  installed:    ${r.installedAt ? r.installedAt.toISOString() : ""} by ${safeText(r.installedBy) || "-"}`,
  ];
  for (const role of r.roles) lines.push(`  ${(role.name + ":").padEnd(14)}${role.threshold} of ${role.keyids.length} keys: ${role.keyids.map(safeText).join(" ")}`);
  lines.push(`  signed by:    ${r.signedBy.map(safeText).join(" ")}`);
  return lines.join("\n") + "\n";
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : typeof v === "string" ? [v] : [];
}

/** Writes `text` to `file` by temp + rename. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644, flag: "w" });
  renameSync(tmp, file);
}

function intOption(ctx: CommandContext, v: unknown, name: string): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) {
    ctx.err(`Error: --${name} must be a positive integer\n`);
    return NaN;
  }
  return n;
}

async function install(ctx: CommandContext, how: "set" | "rotate", document: string): Promise<number> {
  const admin = ctx.client().admin;
  const response = how === "set" ? await admin.trustRootSet({ document }) : await admin.trustRootRotate({ document });
  emit(ctx, TrustRootGetResponse, response, () => `Root of trust version ${response.trustRoot?.version ?? "?"} installed\n` + renderTrustRoot(response.trustRoot));
  return 0;
}

async function init(ctx: CommandContext, values: Record<string, unknown>): Promise<number> {
  const keys = list(values.key);
  const threshold = intOption(ctx, values.threshold, "threshold");
  if (keys.length === 0 || threshold === null) {
    ctx.err("Error: trust-root init needs --key PUB.pem (repeatable) and --threshold N\n");
    return 1;
  }
  const signerThreshold = intOption(ctx, values["signer-threshold"], "signer-threshold");
  const version = intOption(ctx, values.version, "version");
  if (Number.isNaN(threshold) || Number.isNaN(signerThreshold) || Number.isNaN(version)) return 1;
  const signKeys = list(values["sign-key"]);
  const output = values.output as string | undefined;
  if (!output && signKeys.length === 0) {
    ctx.err(
      "Error: root keys are kept offline: give --output FILE to write the document (sign it with trust-root sign, install it with trust-root set), or --sign-key KEY.pem to sign and install it now\n",
    );
    return 1;
  }
  let doc: string;
  try {
    const signerKeys = list(values["signer-key"]);
    doc = makeTrustRoot({
      rootKeys: keys.map((f) => readFileSync(f, "utf8")),
      rootThreshold: threshold,
      ...(signerKeys.length ? { signerKeys: signerKeys.map((f) => readFileSync(f, "utf8")) } : {}),
      ...(signerThreshold !== null ? { signerThreshold } : {}),
      ...(version !== null ? { version } : {}),
      expires: new Date(Date.now() + parseDuration((values.expires as string | undefined) ?? "365d")),
    });
    if (signKeys.length)
      doc = signTrustRoot(
        doc,
        signKeys.map((f) => readFileSync(f, "utf8")),
      );
  } catch (e) {
    ctx.err(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  if (output) {
    writeAtomic(output, doc);
    const { body, signatures } = readTrustRoot(doc);
    ctx.out(
      `Root document version ${body.version} written to ${output} (${signatures.length} signature${signatures.length === 1 ? "" : "s"}, expires ${body.expires})\n`,
    );
    return 0;
  }
  return install(ctx, (version ?? 1) === 1 ? "set" : "rotate", doc);
}

export const command: Command = {
  name: "trust-root",
  summary: "Root of trust for patch signatures: init, sign, set, rotate, show (admin)",
  usage:
    "trust-root init --key PUB.pem... --threshold N [--signer-key PUB.pem... --signer-threshold M] [--expires 365d] [--version V] (--output FILE | --sign-key KEY.pem...)\n" +
    "       sw-patch trust-root sign --key KEY.pem... FILE\n" +
    "       sw-patch trust-root set FILE\n" +
    "       sw-patch trust-root rotate FILE\n" +
    "       sw-patch trust-root show",
  help:
    "  init     build a root document (roles root and patch-signer; patch-signer defaults to the root keys and threshold)\n" +
    "           and write it to --output for offline signing, or sign it with --sign-key and install it\n" +
    "  sign     add signatures to a root document file, offline (no controller needed)\n" +
    "  set      install the first root (a threshold of its own root keys must have signed it)\n" +
    "  rotate   install version N+1 (signed by a threshold of version N's root keys and of its own)\n" +
    "  show     the installed root\n",
  options: {
    key: { type: "string", multiple: true },
    threshold: { type: "string" },
    "signer-key": { type: "string", multiple: true },
    "signer-threshold": { type: "string" },
    expires: { type: "string" },
    version: { type: "string" },
    output: { type: "string" },
    "sign-key": { type: "string", multiple: true },
  },
  query: true,
  async run(ctx, { values, positionals }) {
    const [sub, ...rest] = positionals;
    switch (sub) {
      case "init":
        if (rest.length) return ctx.usageError();
        return init(ctx, values);
      case "sign": {
        const keys = list(values.key);
        if (rest.length !== 1 || keys.length === 0) return ctx.usageError();
        try {
          const signed = signTrustRoot(
            readFileSync(rest[0]!, "utf8"),
            keys.map((f) => readFileSync(f, "utf8")),
          );
          writeAtomic(rest[0]!, signed);
          ctx.out(`${rest[0]}: ${readTrustRoot(signed).signatures.length} signature(s)\n`);
        } catch (e) {
          ctx.err(`Error: ${(e as Error).message}\n`);
          return 1;
        }
        return 0;
      }
      case "set":
      case "rotate": {
        if (rest.length !== 1) return ctx.usageError();
        let document: string;
        try {
          document = readFileSync(rest[0]!, "utf8");
        } catch (e) {
          ctx.err(`Error: cannot read ${rest[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
          return 1;
        }
        return install(ctx, sub, document);
      }
      case "show": {
        if (rest.length) return ctx.usageError();
        const response = await ctx.client().admin.trustRootGet({});
        emit(ctx, TrustRootGetResponse, response, () => renderTrustRoot(response.trustRoot));
        return 0;
      }
      default:
        return ctx.usageError();
    }
  },
};
