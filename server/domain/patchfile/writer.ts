/**
 * Builds a signed `.patch` file exactly as the reference builder lays it out: an outer gzip (level
 * 9) tar with bare regular-file members metadata.tar, software.tar, [semantics.tar], signature,
 * signature.v2, in that order; uncompressed inner tars. With `dsseKeys`, a last member
 * `signature.dsse` (patch-dsse.ts) that the reference reader ignores.
 */
import { createHash, type KeyObject } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { invalidArgument } from "../errors.js";
import { readRpmHeader } from "../rpm/header.js";
import { rpmFileNameOf } from "../rpm/file-name.js";
import { fsyncDir, tempPathFor } from "../../lib/fs-atomic.js";
import { PERSONALITY_TYPES, writeMetadataXml, type PatchMetadata, type SemanticAction } from "./metadata-xml.js";
import { SAFE_ID_RE, SAFE_RELEASE_RE } from "./limits.js";
import { loadPrivateKey, md5SignatureText, signDigestPss } from "./signature.js";
import { buildTarBuffer, padding, tarFileHeader, tarTrailer } from "./tar-format.js";
import { patchDsseMember, PATCH_DSSE_MEMBER } from "./patch-dsse.js";

/** One RPM to include; `personalities` lists node types that must newly install its package. */
export interface BuildPatchRpm {
  path: string;
  personalities?: string[];
}

export interface BuildPatchOptions {
  id: string;
  swVersion: string;
  summary?: string;
  description?: string;
  installInstructions?: string;
  warnings?: string;
  /** Default "DEV". */
  status?: string;
  /** Default false. */
  unremovable?: boolean;
  /** Default true. */
  rebootRequired?: boolean;
  /** Default false. */
  applyActiveReleaseOnly?: boolean;
  /** FLOOR (issue 21): the anti-rollback security counter (metadata element security_counter); 0/absent = none. */
  securityCounter?: number;
  requires?: string[];
  rpms: (string | BuildPatchRpm)[];
  /** Semantic check scripts (host paths). */
  preApply?: string;
  preRemove?: string;
  /** RSA private key: PEM text (PKCS#1 or PKCS#8) or a KeyObject. */
  signingKey: string | Buffer | KeyObject;
  /**
   * Keys that sign the member `signature.dsse` (issue 21: Ed25519, ECDSA P-256 or RSA, see
   * loadDsseSigningKey); none: no such member, the reference's layout exactly.
   */
  dsseKeys?: KeyObject[];
  /** Directory that receives `<id>.patch`. */
  outputDir: string;
  /** gzip level of the outer file. Default 9 (as the reference). */
  compressionLevel?: number;
  /** Member mtime, seconds since the epoch. Default now. */
  mtime?: number;
  signal?: AbortSignal;
}

export interface BuiltPatch {
  /** Path of the written `<id>.patch`. */
  path: string;
  metadata: PatchMetadata;
  metadataXml: string;
  /** Text of the `signature` member. */
  md5Signature: string;
}

function argError(msg: string, reason = "PATCH_BUILD_INVALID"): Error {
  return invalidArgument(msg, { reason });
}

/**
 * Build, sign and atomically write `<outputDir>/<id>.patch`. Package names for personalities are
 * read from the RPM headers; each RPM's file name must be its header's name-version-release.arch.rpm.
 * @throws DomainError invalid-argument with the reference's messages: "Cannot generate empty
 *   patch", "The release version must be specified in the sw_version field"; and for unsafe ids,
 *   unreadable or mismatching RPMs, duplicate RPM names, unknown personality types, bad keys.
 */
export async function buildPatch(o: BuildPatchOptions): Promise<BuiltPatch> {
  if (!o.id) throw argError("The --id argument is mandatory.");
  if (!SAFE_ID_RE.test(o.id) || o.id.length > 100) throw argError(`Unsafe patch id '${o.id}' (allowed: [A-Za-z0-9._-], not starting with '.')`);
  if (!o.swVersion) throw argError("The release version must be specified in the sw_version field");
  if (!SAFE_RELEASE_RE.test(o.swVersion)) throw argError(`Unsafe release '${o.swVersion}'`);
  if (o.rpms.length === 0) throw argError("Cannot generate empty patch");
  for (const r of o.requires ?? []) if (!SAFE_ID_RE.test(r)) throw argError(`Unsafe required patch id '${r}'`);
  const key = typeof o.signingKey === "string" || Buffer.isBuffer(o.signingKey) ? loadPrivateKey(o.signingKey) : o.signingKey;
  const mtime = o.mtime ?? Math.floor(Date.now() / 1000);

  // Resolve RPMs (merge repeated mentions of one file, as the reference's dict does).
  const byName = new Map<string, { path: string; personalities: Set<string>; name: string }>();
  for (const spec of o.rpms) {
    const r = typeof spec === "string" ? { path: spec } : spec;
    const base = path.basename(r.path);
    let entry = byName.get(base);
    if (entry && path.resolve(entry.path) !== path.resolve(r.path)) throw argError(`Two RPMs with the same file name: ${base}`);
    if (!entry) {
      let h;
      try {
        h = await readRpmHeader(r.path, base);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") throw argError(`File does not exist: ${r.path}`);
        throw e;
      }
      if (h.isSource) throw argError(`${base} is a source RPM`);
      const expect = rpmFileNameOf(h);
      if (expect !== base) throw argError(`RPM file name ${base} does not match its header (${expect})`);
      entry = { path: r.path, personalities: new Set(), name: h.name };
      byName.set(base, entry);
    }
    for (const p of r.personalities ?? []) {
      if (!(PERSONALITY_TYPES as readonly string[]).includes(p)) throw argError(`Unknown personality type '${p}'`);
      entry.personalities.add(p);
    }
  }
  const personalities: Record<string, string[]> = {};
  for (const e of byName.values()) {
    for (const p of e.personalities) {
      const list = (personalities[p] ??= []);
      if (!list.includes(e.name)) list.push(e.name);
    }
  }
  const semanticScripts: [SemanticAction, string][] = [];
  if (o.preApply) semanticScripts.push(["pre-apply", o.preApply]);
  if (o.preRemove) semanticScripts.push(["pre-remove", o.preRemove]);
  const metadata: PatchMetadata = {
    id: o.id,
    swVersion: o.swVersion,
    summary: o.summary ?? "",
    description: o.description ?? "",
    installInstructions: o.installInstructions ?? "",
    warnings: o.warnings ?? "",
    status: o.status ?? "DEV",
    unremovable: o.unremovable ?? false,
    rebootRequired: o.rebootRequired ?? true,
    applyActiveReleaseOnly: o.applyActiveReleaseOnly ?? false,
    personalities,
    contents: [...byName.keys()].sort(),
    requires: [...(o.requires ?? [])],
    semantics: semanticScripts.map(([a]) => a),
    ...(o.securityCounter ? { securityCounter: o.securityCounter } : {}),
  };
  const metadataXml = writeMetadataXml(metadata);

  await fsp.mkdir(o.outputDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(o.outputDir, ".tmp-build-"));
  const target = path.join(o.outputDir, `${o.id}.patch`);
  const tmpTarget = tempPathFor(target);
  try {
    const hdr = { mtime, mode: 0o644, uid: 0, gid: 0, uname: "root", gname: "root" };
    const signedFiles: { name: string; file: string; size: number }[] = [];
    const concat = createHash("sha256");
    const md5s: Buffer[] = [];

    const metadataTar = buildTarBuffer([{ header: { ...hdr, name: "metadata.xml", size: 0 }, data: Buffer.from(metadataXml, "utf8") }]);
    await fsp.writeFile(path.join(work, "metadata.tar"), metadataTar);
    signedFiles.push({ name: "metadata.tar", file: path.join(work, "metadata.tar"), size: metadataTar.length });
    concat.update(metadataTar);
    md5s.push(createHash("md5").update(metadataTar).digest());

    // software.tar, streamed to disk while hashing.
    const swFile = path.join(work, "software.tar");
    const swMd5 = createHash("md5");
    const swSha256 = createHash("sha256");
    let swSize = 0;
    const software = async function* () {
      let len = 0;
      for (const [base, e] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const st = await fsp.stat(e.path);
        const h = tarFileHeader({ ...hdr, name: base, size: st.size });
        yield h;
        len += h.length;
        let got = 0;
        for await (const c of createReadStream(e.path, { highWaterMark: 1024 * 1024 })) {
          got += (c as Buffer).length;
          yield c as Buffer;
        }
        if (got !== st.size) throw argError(`RPM ${e.path} changed while building`);
        const pad = padding(st.size);
        yield pad;
        len += st.size + pad.length;
      }
      yield tarTrailer(len);
    };
    const hashing = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        o.signal?.throwIfAborted();
        swMd5.update(c);
        swSha256.update(c);
        concat.update(c);
        swSize += c.length;
        yield c;
      }
    };
    await pipeline(Readable.from(hashing(software())), createWriteStream(swFile, { mode: 0o600 }));
    signedFiles.push({ name: "software.tar", file: swFile, size: swSize });
    md5s.push(swMd5.digest());

    if (semanticScripts.length > 0) {
      const entries = [];
      for (const [a, p] of semanticScripts) entries.push({ header: { ...hdr, mode: 0o755, name: `${a}/${o.id}`, size: 0 }, data: await fsp.readFile(p) });
      const semTar = buildTarBuffer(entries);
      await fsp.writeFile(path.join(work, "semantics.tar"), semTar);
      signedFiles.push({ name: "semantics.tar", file: path.join(work, "semantics.tar"), size: semTar.length });
      concat.update(semTar);
      md5s.push(createHash("md5").update(semTar).digest());
    }
    const md5Signature = md5SignatureText(md5s);
    const sigV2 = signDigestPss(concat.digest(), key);
    const small: { name: string; data: Buffer }[] = [
      { name: "signature", data: Buffer.from(md5Signature, "ascii") },
      { name: "signature.v2", data: sigV2 },
    ];
    if (o.dsseKeys && o.dsseKeys.length > 0) {
      const digests: Record<string, string> = { "metadata.tar": createHash("sha256").update(metadataTar).digest("hex"), "software.tar": swSha256.digest("hex") };
      if (semanticScripts.length > 0)
        digests["semantics.tar"] = createHash("sha256")
          .update(await fsp.readFile(path.join(work, "semantics.tar")))
          .digest("hex");
      small.push({ name: PATCH_DSSE_MEMBER, data: patchDsseMember(digests, o.dsseKeys) });
    }

    const outer = async function* () {
      let len = 0;
      for (const f of signedFiles) {
        const h = tarFileHeader({ ...hdr, name: f.name, size: f.size });
        yield h;
        for await (const c of createReadStream(f.file, { highWaterMark: 1024 * 1024 })) yield c as Buffer;
        const pad = padding(f.size);
        yield pad;
        len += h.length + f.size + pad.length;
      }
      for (const s of small) {
        const h = tarFileHeader({ ...hdr, name: s.name, size: s.data.length });
        const pad = padding(s.data.length);
        yield Buffer.concat([h, s.data, pad]);
        len += h.length + s.data.length + pad.length;
      }
      yield tarTrailer(len);
    };
    await pipeline(
      Readable.from(outer()),
      zlib.createGzip({ level: o.compressionLevel ?? 9, chunkSize: 256 * 1024 }),
      createWriteStream(tmpTarget, { flags: "wx", mode: 0o644 }),
      o.signal ? { signal: o.signal } : {},
    );
    const fh = await fsp.open(tmpTarget, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmpTarget, target);
    await fsyncDir(o.outputDir);
    return { path: target, metadata, metadataXml, md5Signature };
  } catch (e) {
    await fsp.rm(tmpTarget, { force: true });
    throw e;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
