import { readFileSync } from "node:fs";
import { ImportBasePackageResponse, ListBasePackagesResponse, UnavailableError, type BasePackage } from "../../../sdk/src/index.js";
import { safeText } from "../../render/safe-text.js";
import { renderTable, utcSeconds } from "../../render/starlingx-table.js";
import type { Command } from "../command.js";
import { errorLine } from "../errors.js";
import { emit } from "./shared.js";

/** How a base package got into its feed: "signed by LABEL (...)" or "unsigned, imported by TOKEN at TIME". */
export function provenanceText(p: BasePackage): string {
  if (!p.importedBy) return "unrecorded (imported before provenance was kept)";
  const who = `imported by ${p.importedBy} at ${utcSeconds(p.importedAt)}`;
  return p.signer ? `signed by ${p.signer}, ${who}` : `unsigned, ${who}`;
}

/** query-base: Release, RPM, Provenance (by release, then file name). */
export function renderBasePackages(packages: readonly BasePackage[]): string {
  return renderTable(
    ["Release", "RPM", "Provenance"],
    packages.map((p) => [p.release, p.package?.fileName ?? "", provenanceText(p)]),
  );
}

/** `sw-patch query-base [RELEASE]`: ListBasePackages as a table (or `--format json`). */
export const queryBase: Command = {
  name: "query-base",
  summary: "List a release's base packages and who signed or imported each",
  usage: "query-base [<release>]",
  query: true,
  async run(ctx, { positionals }) {
    if (positionals.length > 1) return ctx.usageError();
    const response = await ctx.client().patches.listBasePackages({ release: positionals[0] ?? "" });
    emit(
      ctx,
      ListBasePackagesResponse,
      response,
      () => renderBasePackages(response.packages),
      () => ({ packages: response.packages.map((p) => ({ ...p, importedAt: p.importedAt?.toISOString() })) }),
    );
    return 0;
  },
};

/** `sw-patch import-base`: ImportBasePackage per file, signed with `--sign-key` or unsigned (admin). */
export const importBase: Command = {
  name: "import-base",
  summary: "Import RPMs into a release's base feed (signed: operator; unsigned: admin)",
  usage: "import-base --release RELEASE [--sign-key KEY.pem] <rpm-file> ...",
  help:
    "  --release RELEASE   the release whose base feed gets the packages (it must exist)\n" +
    "  --sign-key KEY.pem  sign each package with this RSA private key; the controller must trust its\n" +
    "                      certificate (e.g. its local key, <data-dir>/signing/local-signing-key.pem).\n" +
    "                      Without it the packages are unsigned: only an admin token may import them,\n" +
    "                      and query-base lists them as unsigned with the importing token and time.\n",
  options: { release: { type: "string" }, "sign-key": { type: "string" } },
  async run(ctx, { values, positionals }) {
    if (positionals.length === 0) return ctx.usageError();
    const release = values.release as string | undefined;
    if (!release) {
      ctx.err("Error: missing required option: --release\n");
      return 1;
    }
    const keyFile = values["sign-key"] as string | undefined;
    const signingKeyPem = keyFile === undefined ? undefined : readFileSync(keyFile);
    let rc = 0;
    for (const file of [...new Set(positionals)].sort()) {
      try {
        const r = await ctx.client().importBasePackageFile(file, { release, ...(signingKeyPem ? { signingKeyPem } : {}) });
        const name = safeText(r.package?.fileName ?? file);
        emit(ctx, ImportBasePackageResponse, r, () =>
          r.added ? `${name} imported into the base feed of ${safeText(release)}\n` : `${name} is already in the base feed of ${safeText(release)}\n`,
        );
      } catch (e) {
        if (e instanceof UnavailableError) throw e;
        ctx.err(errorLine(e, ctx.endpoint) + "\n");
        rc = 1;
      }
    }
    return rc;
  },
};
