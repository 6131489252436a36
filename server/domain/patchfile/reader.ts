/**
 * Streaming, verify-first reader of `.patch` files. Bytes are gunzipped and untarred chunk by chunk,
 * each member is spooled into a private temp dir while its md5 and sha256 are computed, software.tar
 * is unpacked into individual RPM files on the fly, and everything is verified before the result is
 * returned. Memory use does not depend on the patch size.
 */
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { DomainError } from "../errors.js";
import { gunzipStrict } from "./gzip-stream.js";
import type { PatchMetadata, SemanticAction } from "./metadata-xml.js";
import { INFLATE_SLACK_BYTES, resolvePatchReadLimits, type PatchReadLimits } from "./limits.js";
import { bad, PatchSpooler } from "./patch-spooler.js";
import type { TrustStore } from "./signature.js";
import { checkPatchDsse, DSSE_SIGNED_MEMBERS, PATCH_DSSE_MEMBER, type PatchSignerPolicy } from "./patch-dsse.js";
import type { UploadBudget } from "./upload-budget.js";
import {
  checkContents,
  checkMd5Signature,
  checkMemberSet,
  checkMetadata,
  checkPersonalities,
  checkRpmHeaders,
  checkSignatureV2,
  extractSemantics,
  type PatchMemberFile,
  type PatchRpm,
} from "./verify-checks.js";

export { PATCH_MEMBERS, type PatchMemberName } from "./patch-spooler.js";
export type { PatchMemberFile, PatchRpm } from "./verify-checks.js";

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
  /**
   * The controller's shared upload bound: a ticket is taken before the first byte is read
   * (resource-exhausted when too many uploads are in flight), every byte written to a temp file is
   * charged to it, and it is released by `cleanup()` (or when the read fails).
   */
  budget?: UploadBudget;
  /**
   * With a root of trust (issue 21): the patch-signer keys and threshold `signature.dsse` must
   * meet (failed-precondition otherwise). `signature.v2` then need not verify with `trust` (it is
   * still reported when it does); without this option, `signature.dsse` is not checked.
   */
  patchSigners?: PatchSignerPolicy;
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
  /** Key ids of the root's patch-signer keys that signed `signature.dsse` (only with `patchSigners`). */
  dsseSigners?: string[];
  /** Private temp dir holding everything below. */
  dir: string;
  members: PatchMemberFile[];
  rpms: PatchRpm[];
  semantics: { action: SemanticAction; path: string }[];
  /** Remove `dir` and whatever is still in it. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Default of ReadPatchOptions.hashLanesFromBytes. */
const LANES_FROM_BYTES = 16 * 1024 * 1024;

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
  const ticket = options.budget?.acquire();
  let dir: string;
  try {
    await fsp.mkdir(options.workDir, { recursive: true });
    dir = await fsp.mkdtemp(path.join(options.workDir, "patch-"));
  } catch (e) {
    ticket?.release();
    throw e;
  }
  const cleanup = async () => {
    try {
      await fsp.rm(dir, { recursive: true, force: true });
    } finally {
      ticket?.release();
    }
  };
  const membersDir = path.join(dir, "members");
  const rpmDir = path.join(dir, "rpms");
  // Bytes written to temp files, bounded per patch and (through the ticket) for all uploads.
  let unpacked = 0;
  const charge = (bytes: number) => {
    unpacked += bytes;
    if (unpacked > limits.maxUnpackedBytes)
      throw bad(`patch: unpacked files exceed the limit of ${limits.maxUnpackedBytes} bytes (--max-unpacked-bytes)`, "PATCH_TOO_LARGE");
    ticket?.charge(bytes);
  };
  const spooler = new PatchSpooler(membersDir, rpmDir, limits, options.hashLanesFromBytes ?? LANES_FROM_BYTES, charge, options.patchSigners !== undefined);
  try {
    await fsp.chmod(dir, 0o700);
    await fsp.mkdir(membersDir);
    await fsp.mkdir(rpmDir);
    const unpackLimited = limits.maxUnpackedBytes < limits.maxTotalBytes;
    await gunzipStrict(toAsyncIterable(source, signal), (c) => spooler.outer.write(c), {
      ...(signal ? { signal } : {}),
      maxCompressedBytes: limits.maxPatchBytes,
      maxOutputBytes: Math.min(limits.maxTotalBytes, limits.maxUnpackedBytes),
      ...(unpackLimited ? { maxOutputName: "--max-unpacked-bytes" } : {}),
      maxRatio: limits.maxInflateRatio,
      ratioSlackBytes: INFLATE_SLACK_BYTES,
    });
    await spooler.outer.finish();
    signal?.throwIfAborted();

    const spooled = await checkMemberSet(spooler);
    // Computed only with patchSigners; always finished (a lane context must not be left open).
    const streamedSoftwareSha256 = spooler.softwareSha256 ? (await spooler.softwareSha256.digest()).toString("hex") : "";
    await checkMd5Signature(spooled);
    const { signer, scheme } = await checkSignatureV2(spooled, spooler, options.trust, requireTrusted && !options.patchSigners);
    let dsseSigners: string[] | undefined;
    if (options.patchSigners) {
      const digests: Record<string, string> = {};
      for (const n of DSSE_SIGNED_MEMBERS) {
        if (!spooler.outerSinks.has(n)) continue;
        const m = spooled.member(n);
        digests[n] = m.sha256 || streamedSoftwareSha256;
      }
      const env = spooler.outerSinks.has(PATCH_DSSE_MEMBER) ? await fsp.readFile(spooled.member(PATCH_DSSE_MEMBER).path) : null;
      dsseSigners = checkPatchDsse(env, digests, options.patchSigners).signers;
    }
    signal?.throwIfAborted();
    const { metadata, metadataXml } = await checkMetadata(spooled, limits);
    checkContents(metadata, spooler);
    const rpms = await checkRpmHeaders(metadata, spooler, signal);
    checkPersonalities(metadata, rpms);
    const semantics = await extractSemantics(metadata, spooled, spooler.outerSinks.has("semantics.tar"), dir);

    return {
      metadata,
      metadataXml,
      signer,
      signatureScheme: scheme,
      trusted: scheme !== null || dsseSigners !== undefined,
      ...(dsseSigners ? { dsseSigners } : {}),
      dir,
      members: spooled.members,
      rpms,
      semantics,
      cleanup,
    };
  } catch (e) {
    await spooler.abort();
    await cleanup().catch(() => undefined);
    if (signal?.aborted && !(e instanceof DomainError)) {
      throw signal.reason instanceof Error ? signal.reason : e;
    }
    throw e;
  }
}
