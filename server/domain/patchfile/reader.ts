/**
 * Streaming, verify-first reader of `.patch` files. Bytes are gunzipped and untarred chunk by chunk,
 * each member is spooled into a private temp dir while its md5 and sha256 are computed, software.tar
 * is unpacked into individual RPM files on the fly, and everything is verified before the result is
 * returned. Memory use does not depend on the patch size.
 */
import { createHash, type Hash } from "node:crypto";
import { hashLanes, laneOf, type Hasher, type LaneHasher } from "./hash-lanes.js";
import { createReadStream, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { DomainError, invalidArgument } from "../errors.js";
import { readRpmHeader } from "../rpm/header.js";
import { rpmFileNameOf } from "../rpm/file-name.js";
import { gunzipStrict } from "./gzip-stream.js";
import { parseMetadataXml, type PatchMetadata, type SemanticAction, SEMANTIC_ACTIONS } from "./metadata-xml.js";
import { resolvePatchReadLimits, SAFE_ID_RE, SAFE_RELEASE_RE, SAFE_RPM_NAME_RE, type PatchReadLimits } from "./limits.js";
import { verifyDigestSignature, verifyMd5Signature, type TrustStore } from "./signature.js";
import { TarStreamParser, type TarEntrySink } from "./tar-format.js";

/** Outer members, in the canonical (builder's) order. */
export const PATCH_MEMBERS = ["metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2"] as const;
export type PatchMemberName = (typeof PATCH_MEMBERS)[number];
const SIGNED_ORDER = ["metadata.tar", "software.tar", "semantics.tar"];

export interface ReadPatchOptions {
  /** Keys a valid signature.v2 may come from. */
  trust: TrustStore;
  /** Parent of the private temp dir (created 0700 with mkdtemp). */
  workDir: string;
  signal?: AbortSignal;
  limits?: Partial<PatchReadLimits>;
  /**
   * Default true: a missing or untrusted signature.v2 rejects the patch. When false (inspection
   * tools only), such a patch is returned with `trusted: false` and `signer: "unknown"`; every other
   * check still applies.
   */
  requireTrusted?: boolean;
  /**
   * software.tar of at least this many bytes (default 16 MiB) is hashed on the hash lanes (two
   * worker threads) while this thread parses and writes; smaller patches are hashed here.
   */
  hashLanesFromBytes?: number;
}

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

/** A verified patch, unpacked in `dir`. The caller moves files out, then calls `cleanup()`. */
export interface VerifiedPatch {
  metadata: PatchMetadata;
  /** metadata.xml exactly as signed (UTF-8 text). */
  metadataXml: string;
  /** Label of the trust-store key that verified signature.v2, or "unknown" when untrusted. */
  signer: string;
  /** How signature.v2 verified; null when untrusted. */
  signatureScheme: "pss" | "pkcs1v15" | null;
  trusted: boolean;
  /** Private temp dir holding everything below. */
  dir: string;
  members: PatchMemberFile[];
  rpms: PatchRpm[];
  semantics: { action: SemanticAction; path: string }[];
  /** Remove `dir` and whatever is still in it. Safe to call twice. */
  cleanup(): Promise<void>;
}

function bad(message: string, reason = "PATCH_INVALID"): DomainError {
  return invalidArgument(message, { reason });
}

/** node:crypto on this thread (small members). */
class LocalHasher implements Hasher {
  private readonly h: Hash;
  constructor(algo: "md5" | "sha256") {
    this.h = createHash(algo);
  }
  update(b: Uint8Array): void {
    this.h.update(b);
  }
  async digest(): Promise<Buffer> {
    return this.h.digest();
  }
}

/**
 * `md5`, also feeding `concat` the same bytes in the same copy (digest: md5's). The copy is shared
 * until `afterTees`: the RPMs unpacked from those bytes are hashed from it, not copied again.
 */
function withConcat(md5: LaneHasher, concat: LaneHasher | null): Hasher {
  const lanes = hashLanes();
  return {
    update: (b) => lanes.updateAll(concat ? [md5, concat] : [md5], b, true),
    digest: () => md5.digest(),
    afterTees: () => lanes.endShare(),
  };
}

/** Bytes of one member written ahead (in flight to the file) at most. */
const WRITE_AHEAD = 4 * 1024 * 1024;

/**
 * A big member's bytes are flushed to disk as it streams (an fdatasync per this many bytes, one at
 * a time, off the reading thread), so the fsync that makes it durable in the blob store at the end
 * has little left to write instead of the whole file.
 */
const SYNC_EVERY = 32 * 1024 * 1024;

/** Default of ReadPatchOptions.hashLanesFromBytes. */
const LANES_FROM_BYTES = 16 * 1024 * 1024;

/** Writes a member to disk while hashing it; optionally tees the bytes elsewhere. */
class SpoolSink implements TarEntrySink {
  size = 0;
  fh: FileHandle | null = null;
  closed = false;
  constructor(
    readonly file: string,
    private readonly limit: number,
    private readonly what: string,
    readonly md5: Hasher | null,
    /** null when the member is only streamed through (no file, no own sha256). */
    readonly sha256: Hasher | null,
    private readonly tees: ((b: Buffer) => void | Promise<void>)[] = [],
    private readonly onEnd?: () => Promise<void>,
  ) {}
  async open(): Promise<this> {
    if (this.sha256) this.fh = await fsp.open(this.file, "wx", 0o600);
    // A member hashed on a lane is also written by that lane, from the same batch: no write
    // request through the thread pool per chunk.
    const lane = laneOf(this.sha256);
    if (this.fh && lane !== undefined) this.laneWriter = hashLanes().writer(lane, this.fh.fd);
    return this;
  }
  private laneWriter: LaneHasher | undefined;
  /**
   * File writes in flight (positioned, so they may complete in any order): the reader goes on
   * with the next chunk while the thread pool writes, up to WRITE_AHEAD bytes.
   */
  private readonly writes: { done: Promise<void>; bytes: number }[] = [];
  private writing = 0;
  private writeError: unknown;
  /** The fdatasync in flight, if any (see SYNC_EVERY), and the size written when it started. */
  private syncing: Promise<void> | undefined;
  private syncedTo = 0;
  async write(chunk: Buffer): Promise<void> {
    const at = this.size;
    this.size += chunk.length;
    if (this.size > this.limit) throw bad(`${this.what} is too large (limit ${this.limit} bytes)`, "PATCH_TOO_LARGE");
    if (this.writeError !== undefined) throw this.writeError;
    if (this.fh && !this.laneWriter) {
      const done = this.fh.write(chunk, 0, chunk.length, at).then(
        () => undefined,
        (e: unknown) => void (this.writeError ??= e),
      );
      this.writes.push({ done, bytes: chunk.length });
      this.writing += chunk.length;
    }
    const m = this.md5?.update(chunk);
    if (m) await m;
    const h = this.laneWriter ? hashLanes().updateAll([this.sha256 as LaneHasher, this.laneWriter], chunk) : this.sha256?.update(chunk);
    if (h) await h;
    // A failed lane write (disk full...) stops the read now, not at the end of the member.
    const failed = this.laneWriter?.error?.();
    if (failed) throw failed;
    try {
      for (const t of this.tees) await t(chunk);
    } finally {
      this.md5?.afterTees?.();
    }
    if (this.fh && !this.syncing && this.size - this.syncedTo >= SYNC_EVERY) {
      const fh = this.fh;
      this.syncedTo = this.size;
      this.syncing = fh.datasync().then(
        () => void (this.syncing = undefined),
        (e: unknown) => {
          this.writeError ??= e;
          this.syncing = undefined;
        },
      );
    }
    while (this.writing > WRITE_AHEAD) {
      const w = this.writes.shift()!;
      await w.done;
      this.writing -= w.bytes;
    }
    if (this.writeError !== undefined) throw this.writeError;
  }
  async end(): Promise<void> {
    await this.close();
    if (this.writeError !== undefined) throw this.writeError;
    if (this.onEnd) await this.onEnd();
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.writes.splice(0).map((w) => w.done));
    this.writing = 0;
    if (this.laneWriter) {
      // Every byte written (or the first error) before the file is closed: the lane writes to
      // the descriptor number, which must not be reused meanwhile.
      await this.laneWriter.digest().catch((e: unknown) => void (this.writeError ??= e));
    }
    await this.syncing;
    await this.fh?.close();
  }
}

function toAsyncIterable(source: string | Uint8Array | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    const bytes = source;
    return (async function* () {
      yield bytes;
    })();
  }
  if (typeof source !== "string") return source;
  const file = source;
  return (async function* () {
    const st = createReadStream(file, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
    try {
      for await (const c of st) yield c as Buffer;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new DomainError("not-found", `File does not exist: ${file}`, { reason: "FILE_NOT_FOUND" });
      if (code === "EISDIR" || code === "EACCES") throw bad(`Cannot read ${file}: ${code}`, "FILE_UNREADABLE");
      throw e;
    } finally {
      st.destroy();
    }
  })();
}

async function readSmall(file: string): Promise<Buffer> {
  return fsp.readFile(file);
}

/**
 * Parse a small spooled tar entirely in memory with the strict tar parser.
 */
async function parseSmallTar(
  label: string,
  data: Buffer,
  maxEntries: number,
): Promise<{ name: string; data: Buffer }[]> {
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

function checkMemberName(name: string, where: string): void {
  if (name.startsWith("/")) throw bad(`${where}: member '${name}' has an absolute path`, "PATCH_MEMBER_UNSAFE");
  if (name.split("/").includes("..")) throw bad(`${where}: member '${name}' contains '..'`, "PATCH_MEMBER_UNSAFE");
  if (name.includes("/")) throw bad(`${where}: member '${name}' contains a directory`, "PATCH_MEMBER_UNSAFE");
  if (name === "" || name === "." || /[\0-\x1f\x7f\\]/.test(name)) throw bad(`${where}: member name '${name.replace(/[^\x20-\x7e]/g, "?")}' is not allowed`, "PATCH_MEMBER_UNSAFE");
}

/**
 * Read and fully verify a patch from a file path, a byte stream (any async iterable of chunks,
 * e.g. a Readable or a gRPC upload; read chunk by chunk with flat memory) or an in-memory buffer.
 *
 * Checks, each rejected with DomainError kind "invalid-argument" whose message names the member:
 * gzip framing (magic, truncation, CRC, concatenated members, trailing bytes), tar structure
 * (checksums, truncation, non-zero data after the end marker), member set (missing, duplicate,
 * unknown, unsafe names, non-regular entries, size limits), `signature` (md5) and `signature.v2`
 * (RSA PSS/PKCS#1 v1.5 against `options.trust`), metadata.tar/metadata.xml, patch id safety,
 * contents vs software.tar, RPM headers vs file names, personalities vs contents, semantics vs
 * semantics.tar. A path that does not exist gives kind "not-found". An abort rejects with the
 * signal's reason. On any failure the temp dir is removed.
 */
export async function readPatch(source: string | Uint8Array | AsyncIterable<Uint8Array>, options: ReadPatchOptions): Promise<VerifiedPatch> {
  const limits = resolvePatchReadLimits(options.limits);
  const { signal } = options;
  const requireTrusted = options.requireTrusted ?? true;
  signal?.throwIfAborted();
  await fsp.mkdir(options.workDir, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(options.workDir, "patch-"));
  await fsp.chmod(dir, 0o700);
  const sinks: SpoolSink[] = [];
  const lanesFrom = options.hashLanesFromBytes ?? LANES_FROM_BYTES;
  // Contexts on the hash lanes, dropped there if the read fails.
  const remotes: { drop(): void }[] = [];
  const onLane = (lane: number, algo: "md5" | "sha256"): LaneHasher => {
    const h = hashLanes().hasher(lane, algo);
    remotes.push(h);
    return h;
  };
  const cleanup = async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    const membersDir = path.join(dir, "members");
    const rpmDir = path.join(dir, "rpms");
    await fsp.mkdir(membersDir);
    await fsp.mkdir(rpmDir);

    const outerSinks = new Map<string, SpoolSink>();
    const rpmSinks = new Map<string, SpoolSink>();
    const arrival: string[] = [];
    // sha256 of the signed members' concatenation, while they stream in the signed order. Until
    // software.tar shows whether it is big enough for the hash lanes, the bytes before it
    // (metadata.tar, at most 1 MiB) are also kept to replay there.
    let concatHash: Hasher | null = new LocalHasher("sha256");
    let concatPrefix: Buffer[] | null = [];
    let concatLane: LaneHasher | null = null;
    let softwareTar: TarStreamParser | null = null;

    const limitFor = (name: string): number => {
      switch (name) {
        case "metadata.tar": return limits.maxMetadataTarBytes;
        case "software.tar": return limits.maxSoftwareTarBytes;
        case "semantics.tar": return limits.maxSemanticsTarBytes;
        case "signature": return limits.maxSignatureBytes;
        default: return limits.maxSignatureV2Bytes;
      }
    };

    const outer = new TarStreamParser(
      "patch",
      async (e) => {
        checkMemberName(e.name, "patch");
        if (!(PATCH_MEMBERS as readonly string[]).includes(e.name)) throw bad(`patch: unknown member '${e.name}'`, "PATCH_MEMBER_UNKNOWN");
        if (outerSinks.has(e.name)) throw bad(`patch: duplicate member '${e.name}'`, "PATCH_MEMBER_DUPLICATE");
        const limit = limitFor(e.name);
        if (e.size > limit) throw bad(`patch: member '${e.name}' is too large (${e.size} bytes, limit ${limit})`, "PATCH_TOO_LARGE");
        const signed = SIGNED_ORDER.includes(e.name);
        const tees: ((b: Buffer) => void | Promise<void>)[] = [];
        let streamedInOrder = false;
        if (signed) {
          arrival.push(e.name);
          // Hash the concatenation in stream while members arrive in canonical order.
          if (concatHash && arrival.every((n, i) => n === SIGNED_ORDER[i])) {
            if (e.name === "software.tar" && e.size >= lanesFrom && concatPrefix) {
              const remote = onLane(1, "sha256");
              for (const b of concatPrefix) await remote.update(b);
              concatHash = remote;
              concatLane = remote;
            }
            concatPrefix = e.name === "metadata.tar" ? concatPrefix : null;
            // On the lanes, software.tar's bytes go to its md5 and to the concatenation in one
            // copy (see the sink below); otherwise through this tee.
            if (!(e.name === "software.tar" && concatLane)) {
              tees.push((b) => {
                if (concatPrefix) concatPrefix.push(Buffer.from(b));
                return concatHash?.update(b);
              });
            }
            streamedInOrder = true;
          } else {
            concatHash = null;
            concatPrefix = null;
          }
        }
        if (e.name === "software.tar") {
          const sw = new TarStreamParser(
            "software.tar",
            async (r) => {
              checkMemberName(r.name, "software.tar");
              if (!SAFE_RPM_NAME_RE.test(r.name)) throw bad(`software.tar: member '${r.name}' is not a safe RPM file name`, "PATCH_MEMBER_UNSAFE");
              if (rpmSinks.has(r.name)) throw bad(`software.tar: duplicate member '${r.name}'`, "PATCH_MEMBER_DUPLICATE");
              if (r.size > limits.maxRpmBytes) throw bad(`software.tar: member '${r.name}' is too large (${r.size} bytes, limit ${limits.maxRpmBytes})`, "PATCH_TOO_LARGE");
              const s = new SpoolSink(
                path.join(rpmDir, r.name),
                limits.maxRpmBytes,
                `software.tar member '${r.name}'`,
                null,
                concatLane ? onLane(1, "sha256") : new LocalHasher("sha256"),
              );
              sinks.push(s);
              rpmSinks.set(r.name, s);
              return s.open();
            },
            limits.maxRpms,
          );
          softwareTar = sw;
          tees.push((b) => sw.write(b));
        }
        // software.tar in the signed order (metadata.tar before it; semantics.tar can only
        // follow) never needs re-reading: hash and unpack it as it streams, keep no copy.
        const keep = !(e.name === "software.tar" && streamedInOrder);
        const big = e.name === "software.tar" && e.size >= lanesFrom;
        const s = new SpoolSink(
          path.join(membersDir, e.name),
          limit,
          `patch member '${e.name}'`,
          big ? withConcat(onLane(0, "md5"), e.name === "software.tar" ? concatLane : null) : new LocalHasher("md5"),
          keep ? (big ? onLane(0, "sha256") : new LocalHasher("sha256")) : null,
          tees,
          e.name === "software.tar" ? () => softwareTar!.finish() : undefined,
        );
        sinks.push(s);
        outerSinks.set(e.name, s);
        return s.open();
      },
      16,
    );

    await gunzipStrict(toAsyncIterable(source, signal), (c) => outer.write(c), {
      ...(signal ? { signal } : {}),
      maxCompressedBytes: limits.maxPatchBytes,
      maxOutputBytes: limits.maxTotalBytes,
    });
    await outer.finish();
    signal?.throwIfAborted();

    // -- member set
    for (const m of ["metadata.tar", "software.tar", "signature"]) {
      if (!outerSinks.has(m)) throw bad(`patch: missing member '${m}'`, "PATCH_MEMBER_MISSING");
    }
    const signedNames = SIGNED_ORDER.filter((n) => outerSinks.has(n));
    const members: PatchMemberFile[] = await Promise.all(
      PATCH_MEMBERS.filter((n) => outerSinks.has(n)).map(async (n) => {
        const s = outerSinks.get(n)!;
        const kept = s.sha256 !== null;
        return { name: n, path: kept ? s.file : "", size: s.size, md5: (await s.md5!.digest()).toString("hex"), sha256: kept ? (await s.sha256!.digest()).toString("hex") : "" };
      }),
    );
    const member = (n: string) => members.find((m) => m.name === n)!;

    // -- signature (md5)
    const sigText = new TextDecoder("utf-8", { fatal: false }).decode(await readSmall(member("signature").path));
    const md5s = signedNames.map((n) => Buffer.from(member(n).md5, "hex"));
    if (!verifyMd5Signature(sigText, md5s)) {
      throw bad(`Patch failed verification: member 'signature' does not match the md5 of ${signedNames.join(", ")}`, "PATCH_SIGNATURE_MISMATCH");
    }

    // -- signature.v2
    let signer = "unknown";
    let scheme: "pss" | "pkcs1v15" | null = null;
    const v2 = outerSinks.has("signature.v2") ? member("signature.v2") : null;
    if (!v2) {
      if (requireTrusted) throw bad("Patch has not been signed: missing member 'signature.v2'", "PATCH_NOT_SIGNED");
    } else {
      let digest: Buffer;
      if (concatHash && arrival.length === signedNames.length && arrival.every((n, i) => n === signedNames[i])) {
        digest = await (concatHash as Hasher).digest();
      } else {
        const h = createHash("sha256");
        for (const n of signedNames) {
          for await (const c of createReadStream(member(n).path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
        }
        digest = h.digest();
      }
      const sig = await readSmall(v2.path);
      const check = verifyDigestSignature(digest, sig, options.trust);
      if (check) {
        signer = check.label;
        scheme = check.scheme;
      } else if (requireTrusted) {
        const labels = options.trust.keys.map((k) => k.label);
        throw bad(
          labels.length === 0
            ? "Patch failed verification: member 'signature.v2' cannot be checked, no trusted keys are configured"
            : `Patch failed verification: member 'signature.v2' does not verify with any trusted key (tried ${labels.join(", ")})`,
          "PATCH_SIGNATURE_UNTRUSTED",
        );
      }
    }
    signal?.throwIfAborted();

    // -- metadata.tar / metadata.xml
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
      throw bad(`metadata.xml: unsafe patch id '${id.slice(0, 120)}' (allowed: [A-Za-z0-9._-], not starting with '.', at most ${limits.maxIdLength} characters)`, "PATCH_ID_UNSAFE");
    }
    if (!SAFE_RELEASE_RE.test(metadata.swVersion)) throw bad(`metadata.xml: unsafe sw_version '${metadata.swVersion.slice(0, 80)}'`, "PATCH_METADATA_INVALID");
    for (const r of metadata.requires) {
      if (r.length > limits.maxIdLength || !SAFE_ID_RE.test(r)) throw bad(`metadata.xml: unsafe required patch id '${r.slice(0, 120)}'`, "PATCH_METADATA_INVALID");
    }
    if (new Set(metadata.requires).size !== metadata.requires.length) throw bad("metadata.xml: duplicate <req_patch_id>", "PATCH_METADATA_INVALID");

    // -- contents vs software.tar
    const seen = new Set<string>();
    for (const c of metadata.contents) {
      if (seen.has(c)) throw bad(`metadata.xml: duplicate <rpm>${c}</rpm> in contents`, "PATCH_CONTENTS_MISMATCH");
      seen.add(c);
      if (!rpmSinks.has(c)) throw bad(`metadata.xml: contents lists '${c}' which is not in software.tar`, "PATCH_CONTENTS_MISMATCH");
    }
    for (const n of rpmSinks.keys()) {
      if (!seen.has(n)) throw bad(`software.tar: member '${n}' is not listed in the metadata contents`, "PATCH_CONTENTS_MISMATCH");
    }
    if (metadata.contents.length === 0) throw bad("metadata.xml: contents is empty", "PATCH_CONTENTS_MISMATCH");

    // -- RPM headers
    const rpms: PatchRpm[] = [];
    for (const fileName of [...metadata.contents].sort()) {
      signal?.throwIfAborted();
      const s = rpmSinks.get(fileName)!;
      const h = await readRpmHeader(s.file, `software.tar member '${fileName}'`);
      if (h.isSource) throw bad(`software.tar: member '${fileName}' is a source RPM`, "PATCH_RPM_INVALID");
      const expect = rpmFileNameOf(h);
      if (expect !== fileName) throw bad(`software.tar: member '${fileName}' does not match its RPM header (${expect})`, "PATCH_RPM_INVALID");
      rpms.push({ fileName, path: s.file, size: s.size, sha256: (await s.sha256!.digest()).toString("hex"), name: h.name, epoch: h.epoch, version: h.version, release: h.release, arch: h.arch });
    }
    const names = new Set(rpms.map((r) => r.name));
    for (const [type, pkgs] of Object.entries(metadata.personalities)) {
      if (new Set(pkgs).size !== pkgs.length) throw bad(`metadata.xml: duplicate package in personality '${type}'`, "PATCH_METADATA_INVALID");
      for (const p of pkgs) {
        if (!names.has(p)) throw bad(`metadata.xml: personality '${type}' names package '${p}' which is not in the contents`, "PATCH_CONTENTS_MISMATCH");
      }
    }

    // -- semantics
    const semantics: { action: SemanticAction; path: string }[] = [];
    if (new Set(metadata.semantics).size !== metadata.semantics.length) throw bad("metadata.xml: duplicate semantic action", "PATCH_SEMANTICS_MISMATCH");
    const hasSemTar = outerSinks.has("semantics.tar");
    if (metadata.semantics.length > 0 && !hasSemTar) throw bad(`patch: missing member 'semantics.tar' (metadata lists semantics ${metadata.semantics.join(", ")})`, "PATCH_SEMANTICS_MISMATCH");
    if (metadata.semantics.length === 0 && hasSemTar) throw bad("patch: member 'semantics.tar' present but metadata lists no semantics", "PATCH_SEMANTICS_MISMATCH");
    if (hasSemTar) {
      const entries = await parseSmallTar("semantics.tar", await readSmall(member("semantics.tar").path), 4);
      const found = new Map<string, Buffer>();
      for (const e of entries) {
        const slash = e.name.indexOf("/");
        const action = e.name.slice(0, slash);
        const rest = e.name.slice(slash + 1);
        if (slash < 0 || !(SEMANTIC_ACTIONS as readonly string[]).includes(action) || rest !== id) {
          throw bad(`semantics.tar: unexpected member '${e.name.slice(0, 200)}' (expected pre-apply/${id} or pre-remove/${id})`, "PATCH_SEMANTICS_MISMATCH");
        }
        if (found.has(action)) throw bad(`semantics.tar: duplicate member '${e.name}'`, "PATCH_SEMANTICS_MISMATCH");
        if (!metadata.semantics.includes(action as SemanticAction)) throw bad(`semantics.tar: member '${e.name}' is not listed in the metadata semantics`, "PATCH_SEMANTICS_MISMATCH");
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
    }

    return {
      metadata,
      metadataXml,
      signer,
      signatureScheme: scheme,
      trusted: scheme !== null,
      dir,
      members,
      rpms,
      semantics,
      cleanup,
    };
  } catch (e) {
    for (const r of remotes) r.drop();
    await Promise.allSettled(sinks.map((s) => s.close()));
    await cleanup().catch(() => undefined);
    if (signal?.aborted && !(e instanceof DomainError)) {
      throw signal.reason instanceof Error ? signal.reason : e;
    }
    throw e;
  }
}
