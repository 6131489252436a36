/**
 * Who may put a package into a release's base feed (docs/security.md, "Trust and base packages").
 *
 * Every host's desired set takes the highest version of each package name from its release's base
 * feed, so a base package is code that every agent installs as root. A base package is accepted
 * when a key of the patch trust store signed its base statement (any operator or admin), or
 * unsigned from an admin token or from the controller's own `--base-feed` directory (host root);
 * an unsigned package is recorded as such, with who imported it and when.
 */
import { createHash } from "node:crypto";
import { DomainError } from "../errors.js";
import type { Role } from "../auth/roles.js";
import { verifyDigestSignature, type TrustStore } from "../patchfile/signature.js";
import type { BaseProvenance } from "./model.js";

const permissionDenied = (message: string, reason: string) => new DomainError("permission-denied", message, { reason });

/** First line of a base statement; a new format gets a new version. */
export const BASE_STATEMENT_V1 = "sw-patch-base-package-v1";

/** Who imports: an authenticated caller, or the controller's `--base-feed` directory at start. */
export type BaseImporter = { readonly tokenId: string; readonly role: Role } | "base-feed";

/** The `importedBy` of packages from `--base-feed`. */
export const BASE_FEED_IMPORTER = "--base-feed";

/**
 * The text a base-package signature covers: it names the release, the file and its sha256, so a
 * signature vouches for these bytes in this release only. Sign its SHA-256 with RSASSA-PSS
 * (salt 32) or PKCS#1 v1.5, as `signature.v2`, e.g.
 * `printf '%s' "$STATEMENT" | openssl dgst -sha256 -sign key.pem -out pkg.rpm.sig`.
 */
export function baseStatement(release: string, fileName: string, sha256: string): string {
  return `${BASE_STATEMENT_V1}\nrelease ${release}\nfile ${fileName}\nsha256 ${sha256}\n`;
}

/** SHA-256 of {@link baseStatement}: the digest the signature is checked against. */
export function baseStatementDigest(release: string, fileName: string, sha256: string): Buffer {
  return createHash("sha256")
    .update(baseStatement(release, fileName, sha256))
    .digest();
}

/**
 * Decides whether `importer` may add the package and returns the provenance to record.
 * @param signature raw signature bytes; empty or undefined = unsigned.
 * @throws DomainError permission-denied: a signature that no trusted key verifies
 *   (BASE_SIGNATURE_INVALID), an unsigned package from a non-admin caller (BASE_PACKAGE_UNSIGNED),
 *   or a caller below operator (ROLE_NOT_PERMITTED).
 */
export function decideBaseImport(o: {
  importer: BaseImporter;
  release: string;
  fileName: string;
  sha256: string;
  signature?: Uint8Array | undefined;
  trust: TrustStore;
  now: Date;
}): BaseProvenance {
  const importedBy = o.importer === "base-feed" ? BASE_FEED_IMPORTER : o.importer.tokenId;
  const importedAt = o.now.toISOString();
  if (o.importer !== "base-feed" && o.importer.role !== "admin" && o.importer.role !== "operator") {
    throw permissionDenied(`role ${o.importer.role} may not import base packages`, "ROLE_NOT_PERMITTED");
  }
  if (o.signature && o.signature.length > 0) {
    const check = verifyDigestSignature(baseStatementDigest(o.release, o.fileName, o.sha256), o.signature, o.trust);
    if (!check) {
      throw permissionDenied(`Signature of base package ${o.fileName} for release ${o.release} does not verify against any trusted key`, "BASE_SIGNATURE_INVALID");
    }
    return { signer: check.label, importedBy, importedAt };
  }
  if (o.importer === "base-feed" || o.importer.role === "admin") return { signer: "", importedBy, importedAt };
  throw permissionDenied(
    `Base package ${o.fileName} is not signed by a trusted key: role ${o.importer.role} may import only signed base packages ` +
      `(every host installs base packages as root); an admin may import it unsigned`,
    "BASE_PACKAGE_UNSIGNED",
  );
}
