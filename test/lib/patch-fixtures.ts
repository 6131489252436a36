/**
 * Helpers to build signed test patches quickly with the StarlingX dev key (test/fixtures/starlingx).
 */
import { promises as fsp, readFileSync } from "node:fs";
import * as path from "node:path";
import { buildPatch, loadTrustStore, type BuildPatchOptions, type BuiltPatch, type TrustStore } from "../../server/domain/patchfile/index.js";
import { buildRpm, type BuildRpmOptions } from "./rpm-builder.js";

export const FIXTURES = path.resolve(__dirname, "..", "fixtures", "starlingx");
export const DEV_KEY = path.join(FIXTURES, "dev-private-key.pem");
export const DEV_CERT = path.join(FIXTURES, "dev-certificate.pem");
export const FORMAL_CERT = path.join(FIXTURES, "formal-certificate.pem");
export const DEV_PUBKEY = path.join(FIXTURES, "dev-public-key.pem");

/** The dev private key PEM. */
export function devKeyPem(): string {
  return readFileSync(DEV_KEY, "utf8");
}

/** Trust store with the StarlingX certificates, formal first then dev (as the reference orders them). */
export function starlingxTrust(): Promise<TrustStore> {
  return loadTrustStore([`${FORMAL_CERT}:formal`, `${DEV_CERT}:dev`]);
}

export type TestRpmSpec = Omit<BuildRpmOptions, "outDir"> & { personalities?: string[] };

export interface TestPatchOptions extends Partial<Omit<BuildPatchOptions, "rpms" | "outputDir" | "signingKey">> {
  /** Directory for the patch and its RPMs. */
  dir: string;
  /** RPMs to build; default one small x86_64 package. */
  rpms?: TestRpmSpec[];
  signingKey?: BuildPatchOptions["signingKey"];
}

export interface TestPatch extends BuiltPatch {
  rpmPaths: string[];
}

/** Build test RPMs (cached) and a dev-signed patch from them. Defaults: id TEST_PATCH_0001, release 19.12. */
export async function buildTestPatch(o: TestPatchOptions): Promise<TestPatch> {
  const rpmDir = path.join(o.dir, "rpms");
  await fsp.mkdir(rpmDir, { recursive: true });
  const specs: TestRpmSpec[] = o.rpms ?? [{ name: "testpkg", version: "1.0", release: "1.tis", files: [{ path: "/etc/testpkg.conf", content: "x=1\n" }] }];
  const rpmPaths: string[] = [];
  const rpms: BuildPatchOptions["rpms"] = [];
  for (const s of specs) {
    const { personalities, ...spec } = s;
    const p = await buildRpm({ ...spec, outDir: rpmDir });
    rpmPaths.push(p);
    rpms.push({ path: p, ...(personalities ? { personalities } : {}) });
  }
  const { dir, rpms: _r, ...rest } = o;
  void _r;
  const built = await buildPatch({
    id: "TEST_PATCH_0001",
    swVersion: "19.12",
    summary: "Test patch",
    ...rest,
    rpms,
    signingKey: o.signingKey ?? devKeyPem(),
    outputDir: dir,
  });
  return { ...built, rpmPaths };
}

// ---------------------------------------------------------------------------------------------
// Crafting malformed patches (tests only)

import { createHash, createPrivateKey, sign as rsaSign, constants as cc } from "node:crypto";
import * as zlib from "node:zlib";
import { BLOCK, padding, tarFileHeader, tarTrailer } from "../../server/domain/patchfile/tar-format.js";
import { md5SignatureText } from "../../server/domain/patchfile/index.js";

/** A raw tar entry; `type` overrides the typeflag, `linkname` sets the link target. */
export interface RawEntry {
  name: string;
  data?: Uint8Array;
  type?: string;
  linkname?: string;
  /** Declared size if different from data length (to craft truncation). */
  size?: number;
}

function fixChecksum(h: Buffer): void {
  h.write("        ", 148, 8, "ascii");
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
}

/** Build a tar from raw entries (no validation), with end marker and record padding unless `noTrailer`. */
export function rawTar(entries: RawEntry[], opts: { noTrailer?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  let len = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? []);
    const size = e.size ?? data.length;
    let h = tarFileHeader({ name: e.name, size, mtime: 1600000000 });
    if (e.type !== undefined || e.linkname !== undefined) {
      h = Buffer.from(h);
      const last = h.subarray(h.length - BLOCK);
      if (e.type !== undefined) last.write(e.type, 156, 1, "latin1");
      if (e.linkname !== undefined) last.write(e.linkname, 157, 100, "utf8");
      fixChecksum(last);
    }
    parts.push(h, data, padding(data.length));
    len += h.length + data.length + padding(data.length).length;
  }
  if (!opts.noTrailer) parts.push(tarTrailer(len));
  return Buffer.concat(parts);
}

export interface CraftOptions {
  /** metadata.xml text, default none (must give metadataTar or metadataXml). */
  metadataXml?: string;
  metadataTar?: Buffer;
  /** RPM entries of software.tar (name + bytes). */
  rpms?: { name: string; data: Buffer }[];
  softwareTar?: Buffer;
  semanticsTar?: Buffer;
  /** Override the md5 `signature` text. */
  signature?: string;
  /** Override signature.v2; null omits it. */
  signatureV2?: Buffer | null;
  /** Rewrite the outer member list before tarring. */
  outer?: (members: RawEntry[]) => RawEntry[];
  /** Private key PEM to sign with (default dev key). */
  keyPem?: string;
  /** PSS salt length (default 32) or "pkcs1" for PKCS#1 v1.5. */
  scheme?: number | "pkcs1";
}

/** Assemble and sign a patch from raw parts, allowing any malformation. Returns the gzip bytes. */
export function craftPatch(o: CraftOptions): Buffer {
  const metadataTar = o.metadataTar ?? rawTar([{ name: "metadata.xml", data: Buffer.from(o.metadataXml ?? "", "utf8") }]);
  const softwareTar = o.softwareTar ?? rawTar((o.rpms ?? []).map((r) => ({ name: r.name, data: r.data })));
  const signed = [metadataTar, softwareTar, ...(o.semanticsTar ? [o.semanticsTar] : [])];
  const sigText = o.signature ?? md5SignatureText(signed.map((b) => createHash("md5").update(b).digest()));
  let v2: Buffer | null;
  if (o.signatureV2 !== undefined) v2 = o.signatureV2;
  else {
    const key = createPrivateKey(o.keyPem ?? devKeyPem());
    const data = Buffer.concat(signed);
    v2 =
      o.scheme === "pkcs1"
        ? rsaSign("sha256", data, { key, padding: cc.RSA_PKCS1_PADDING })
        : rsaSign("sha256", data, { key, padding: cc.RSA_PKCS1_PSS_PADDING, saltLength: o.scheme ?? 32 });
  }
  let members: RawEntry[] = [
    { name: "metadata.tar", data: metadataTar },
    { name: "software.tar", data: softwareTar },
    ...(o.semanticsTar ? [{ name: "semantics.tar", data: o.semanticsTar }] : []),
    { name: "signature", data: Buffer.from(sigText, "latin1") },
    ...(v2 ? [{ name: "signature.v2", data: v2 }] : []),
  ];
  if (o.outer) members = o.outer(members);
  return zlib.gzipSync(rawTar(members), { level: 6 });
}

/** metadata.xml text for a patch holding `contents`. */
export function simpleMetadataXml(o: {
  id?: string;
  swVersion?: string;
  contents: string[];
  extra?: string;
  semantics?: string[];
  personalities?: Record<string, string[]>;
}): string {
  const pers = Object.entries(o.personalities ?? {})
    .map(([t, ps]) => `  <personality type="${t}">\n${ps.map((p) => `    <package>${p}</package>\n`).join("")}  </personality>\n`)
    .join("");
  return (
    `<?xml version="1.0" ?>\n<patch>\n  <id>${o.id ?? "TEST_PATCH_0001"}</id>\n  <sw_version>${o.swVersion ?? "19.12"}</sw_version>\n` +
    `  <summary>s</summary>\n  <status>DEV</status>\n  <reboot_required>N</reboot_required>\n${pers}` +
    `  <contents>\n${o.contents.map((c) => `    <rpm>${c}</rpm>\n`).join("")}  </contents>\n` +
    `  <semantics>\n${(o.semantics ?? []).map((a) => `    <action>${a}</action>\n`).join("")}  </semantics>\n${o.extra ?? ""}</patch>\n`
  );
}
