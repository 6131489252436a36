/**
 * The checks `readPatch` runs once every member is spooled, in this order: member set, `signature`
 * (md5), `signature.v2`, metadata.tar/metadata.xml, contents vs software.tar, RPM headers,
 * personalities, semantics. Each rejects with DomainError kind "invalid-argument" whose message
 * names the member.
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { readRpmHeader } from "../rpm/header.js";
import { rpmFileNameOf } from "../rpm/file-name.js";
import { parseMetadataXml, type PatchMetadata, type SemanticAction, SEMANTIC_ACTIONS } from "./metadata-xml.js";
import { SAFE_ID_RE, SAFE_RELEASE_RE, type PatchReadLimits } from "./limits.js";
import { bad, PATCH_MEMBERS, type PatchMemberName, type PatchSpooler, SIGNED_ORDER } from "./patch-spooler.js";
import { verifyDigestSignature, verifyMd5Signature, type TrustStore } from "./signature.js";
import { TarStreamParser } from "./tar-format.js";

/** One spooled outer member. */
export interface PatchMemberFile {
  name: PatchMemberName;
  /**
   * The spooled copy, or "" for a software.tar that arrived in the signed order: its bytes were
   * hashed and unpacked as they streamed, so no copy is kept (its RPMs are in `rpms`).
   */
  path: string;
  size: number;
  /** lowercase hex */
  md5: string;
  /** lowercase hex ("" when not spooled, see `path`) */
  sha256: string;
}

/** One RPM from software.tar, with its header fields. */
export interface PatchRpm {
  fileName: string;
  path: string;
  size: number;
  sha256: string;
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
}

/** The spooled members with their digests, and the signed ones (in the signed order) among them. */
export interface SpooledMembers {
  members: PatchMemberFile[];
  signedNames: string[];
  member(n: string): PatchMemberFile;
}

async function readSmall(file: string): Promise<Buffer> {
  return fsp.readFile(file);
}

/**
 * Parse a small spooled tar entirely in memory with the strict tar parser.
 */
async function parseSmallTar(label: string, data: Buffer, maxEntries: number): Promise<{ name: string; data: Buffer }[]> {
  const out: { name: string; data: Buffer; parts: Buffer[] }[] = [];
  const p = new TarStreamParser(
    label,
    (e) => {
      const rec = { name: e.name, data: Buffer.alloc(0), parts: [] as Buffer[] };
      out.push(rec);
      return {
        write: (c) => void rec.parts.push(Buffer.from(c)),
        end: () => {
          rec.data = Buffer.concat(rec.parts);
          rec.parts = [];
        },
      };
    },
    maxEntries,
  );
  await p.write(data);
  await p.finish();
  return out.map(({ name, data: d }) => ({ name, data: d }));
}

/** Member set: the required members are there; then every member's digests. */
export async function checkMemberSet(spooler: PatchSpooler): Promise<SpooledMembers> {
  const { outerSinks } = spooler;
  for (const m of ["metadata.tar", "software.tar", "signature"]) {
    if (!outerSinks.has(m)) throw bad(`patch: missing member '${m}'`, "PATCH_MEMBER_MISSING");
  }
  const signedNames = SIGNED_ORDER.filter((n) => outerSinks.has(n));
  const members: PatchMemberFile[] = await Promise.all(
    PATCH_MEMBERS.filter((n) => outerSinks.has(n)).map(async (n) => {
      const s = outerSinks.get(n)!;
      const kept = s.sha256 !== null;
      return {
        name: n,
        path: kept ? s.file : "",
        size: s.size,
        md5: (await s.md5!.digest()).toString("hex"),
        sha256: kept ? (await s.sha256!.digest()).toString("hex") : "",
      };
    }),
  );
  return { members, signedNames, member: (n) => members.find((m) => m.name === n)! };
}

/** `signature`: the md5 scheme over the signed members. */
export async function checkMd5Signature({ member, signedNames }: SpooledMembers): Promise<void> {
  const sigText = new TextDecoder("utf-8", { fatal: false }).decode(await readSmall(member("signature").path));
  const md5s = signedNames.map((n) => Buffer.from(member(n).md5, "hex"));
  if (!verifyMd5Signature(sigText, md5s)) {
    throw bad(`Patch failed verification: member 'signature' does not match the md5 of ${signedNames.join(", ")}`, "PATCH_SIGNATURE_MISMATCH");
  }
}

/**
 * `signature.v2` against `trust`, over the sha256 of the signed members' concatenation (from the
 * stream when it arrived in the signed order, else re-read from the spooled copies). Missing or
 * untrusted rejects only when `requireTrusted`.
 */
export async function checkSignatureV2(
  spooled: SpooledMembers,
  spooler: PatchSpooler,
  trust: TrustStore,
  requireTrusted: boolean,
): Promise<{ signer: string; scheme: "pss" | "pkcs1v15" | null }> {
  const { member, signedNames } = spooled;
  const v2 = spooler.outerSinks.has("signature.v2") ? member("signature.v2") : null;
  if (!v2) {
    if (requireTrusted) throw bad("Patch has not been signed: missing member 'signature.v2'", "PATCH_NOT_SIGNED");
    return { signer: "unknown", scheme: null };
  }
  let digest: Buffer;
  const streamed = spooler.streamedDigest(signedNames);
  if (streamed) {
    digest = await streamed;
  } else {
    const h = createHash("sha256");
    for (const n of signedNames) {
      for await (const c of createReadStream(member(n).path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
    }
    digest = h.digest();
  }
  const sig = await readSmall(v2.path);
  const check = verifyDigestSignature(digest, sig, trust);
  if (check) return { signer: check.label, scheme: check.scheme };
  if (requireTrusted) {
    const labels = trust.keys.map((k) => k.label);
    throw bad(
      labels.length === 0
        ? "Patch failed verification: member 'signature.v2' cannot be checked, no trusted keys are configured"
        : `Patch failed verification: member 'signature.v2' does not verify with any trusted key (tried ${labels.join(", ")})`,
      "PATCH_SIGNATURE_UNTRUSTED",
    );
  }
  return { signer: "unknown", scheme: null };
}

/** metadata.tar holds exactly metadata.xml, which parses, with a safe id, release and requires. */
export async function checkMetadata({ member }: SpooledMembers, limits: PatchReadLimits): Promise<{ metadata: PatchMetadata; metadataXml: string }> {
  const metaEntries = await parseSmallTar("metadata.tar", await readSmall(member("metadata.tar").path), 4);
  if (metaEntries.length !== 1 || metaEntries[0].name !== "metadata.xml") {
    throw bad(
      `metadata.tar: must contain exactly one member 'metadata.xml' (found ${metaEntries.map((e) => `'${e.name}'`).join(", ") || "none"})`,
      "PATCH_METADATA_INVALID",
    );
  }
  const xmlBytes = metaEntries[0].data;
  const metadata = parseMetadataXml(xmlBytes);
  const metadataXml = xmlBytes.toString("utf8");
  const id = metadata.id;
  if (id.length > limits.maxIdLength || !SAFE_ID_RE.test(id)) {
    throw bad(
      `metadata.xml: unsafe patch id '${id.slice(0, 120)}' (allowed: [A-Za-z0-9._-], not starting with '.', at most ${limits.maxIdLength} characters)`,
      "PATCH_ID_UNSAFE",
    );
  }
  if (!SAFE_RELEASE_RE.test(metadata.swVersion)) throw bad(`metadata.xml: unsafe sw_version '${metadata.swVersion.slice(0, 80)}'`, "PATCH_METADATA_INVALID");
  for (const r of metadata.requires) {
    if (r.length > limits.maxIdLength || !SAFE_ID_RE.test(r)) throw bad(`metadata.xml: unsafe required patch id '${r.slice(0, 120)}'`, "PATCH_METADATA_INVALID");
  }
  if (new Set(metadata.requires).size !== metadata.requires.length) throw bad("metadata.xml: duplicate <req_patch_id>", "PATCH_METADATA_INVALID");
  return { metadata, metadataXml };
}

/** The metadata contents and software.tar's members are the same non-empty set. */
export function checkContents(metadata: PatchMetadata, spooler: PatchSpooler): void {
  const seen = new Set<string>();
  for (const c of metadata.contents) {
    if (seen.has(c)) throw bad(`metadata.xml: duplicate <rpm>${c}</rpm> in contents`, "PATCH_CONTENTS_MISMATCH");
    seen.add(c);
    if (!spooler.rpmSinks.has(c)) throw bad(`metadata.xml: contents lists '${c}' which is not in software.tar`, "PATCH_CONTENTS_MISMATCH");
  }
  for (const n of spooler.rpmSinks.keys()) {
    if (!seen.has(n)) throw bad(`software.tar: member '${n}' is not listed in the metadata contents`, "PATCH_CONTENTS_MISMATCH");
  }
  if (metadata.contents.length === 0) throw bad("metadata.xml: contents is empty", "PATCH_CONTENTS_MISMATCH");
}

/** Each RPM is a binary RPM whose header matches its file name; sorted by file name. */
export async function checkRpmHeaders(metadata: PatchMetadata, spooler: PatchSpooler, signal?: AbortSignal): Promise<PatchRpm[]> {
  const rpms: PatchRpm[] = [];
  for (const fileName of [...metadata.contents].sort()) {
    signal?.throwIfAborted();
    const s = spooler.rpmSinks.get(fileName)!;
    const h = await readRpmHeader(s.file, `software.tar member '${fileName}'`);
    if (h.isSource) throw bad(`software.tar: member '${fileName}' is a source RPM`, "PATCH_RPM_INVALID");
    const expect = rpmFileNameOf(h);
    if (expect !== fileName) throw bad(`software.tar: member '${fileName}' does not match its RPM header (${expect})`, "PATCH_RPM_INVALID");
    rpms.push({
      fileName,
      path: s.file,
      size: s.size,
      sha256: (await s.sha256!.digest()).toString("hex"),
      name: h.name,
      epoch: h.epoch,
      version: h.version,
      release: h.release,
      arch: h.arch,
    });
  }
  return rpms;
}

/** Each personality names distinct packages that are in the contents. */
export function checkPersonalities(metadata: PatchMetadata, rpms: PatchRpm[]): void {
  const names = new Set(rpms.map((r) => r.name));
  for (const [type, pkgs] of Object.entries(metadata.personalities)) {
    if (new Set(pkgs).size !== pkgs.length) throw bad(`metadata.xml: duplicate package in personality '${type}'`, "PATCH_METADATA_INVALID");
    for (const p of pkgs) {
      if (!names.has(p)) throw bad(`metadata.xml: personality '${type}' names package '${p}' which is not in the contents`, "PATCH_CONTENTS_MISMATCH");
    }
  }
}

/**
 * The metadata semantics and semantics.tar agree (one script per listed action, named
 * `<action>/<id>`); the scripts are written to `<dir>/semantics/<action>`.
 */
export async function extractSemantics(
  metadata: PatchMetadata,
  spooled: SpooledMembers,
  hasSemTar: boolean,
  dir: string,
): Promise<{ action: SemanticAction; path: string }[]> {
  const id = metadata.id;
  const semantics: { action: SemanticAction; path: string }[] = [];
  if (new Set(metadata.semantics).size !== metadata.semantics.length) throw bad("metadata.xml: duplicate semantic action", "PATCH_SEMANTICS_MISMATCH");
  if (metadata.semantics.length > 0 && !hasSemTar)
    throw bad(`patch: missing member 'semantics.tar' (metadata lists semantics ${metadata.semantics.join(", ")})`, "PATCH_SEMANTICS_MISMATCH");
  if (metadata.semantics.length === 0 && hasSemTar) throw bad("patch: member 'semantics.tar' present but metadata lists no semantics", "PATCH_SEMANTICS_MISMATCH");
  if (!hasSemTar) return semantics;
  const entries = await parseSmallTar("semantics.tar", await readSmall(spooled.member("semantics.tar").path), 4);
  const found = new Map<string, Buffer>();
  for (const e of entries) {
    const slash = e.name.indexOf("/");
    const action = e.name.slice(0, slash);
    const rest = e.name.slice(slash + 1);
    if (slash < 0 || !(SEMANTIC_ACTIONS as readonly string[]).includes(action) || rest !== id) {
      throw bad(`semantics.tar: unexpected member '${e.name.slice(0, 200)}' (expected pre-apply/${id} or pre-remove/${id})`, "PATCH_SEMANTICS_MISMATCH");
    }
    if (found.has(action)) throw bad(`semantics.tar: duplicate member '${e.name}'`, "PATCH_SEMANTICS_MISMATCH");
    if (!metadata.semantics.includes(action as SemanticAction))
      throw bad(`semantics.tar: member '${e.name}' is not listed in the metadata semantics`, "PATCH_SEMANTICS_MISMATCH");
    found.set(action, e.data);
  }
  for (const a of metadata.semantics) {
    if (!found.has(a)) throw bad(`semantics.tar: missing member '${a}/${id}' listed in the metadata semantics`, "PATCH_SEMANTICS_MISMATCH");
  }
  await fsp.mkdir(path.join(dir, "semantics"));
  for (const a of [...metadata.semantics].sort()) {
    const p = path.join(dir, "semantics", a);
    await fsp.writeFile(p, found.get(a)!, { mode: 0o600, flag: "wx" });
    semantics.push({ action: a, path: p });
  }
  return semantics;
}
