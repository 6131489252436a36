/**
 * The patch member `signature.dsse`: a DSSE envelope whose payload (canonical JSON) names the
 * sha256 of each signed member (metadata.tar, software.tar and, when present, semantics.tar). The
 * reference's members are left as they are, so the reference reader (which extracts members by
 * name) still accepts the patch. `signPatchFile` adds signatures to an existing patch.
 */
import { createHash, type KeyObject } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import { once } from "node:events";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { pipeline } from "node:stream/promises";
import { failedPrecondition, invalidArgument } from "../errors.js";
import { fsyncDir, tempPathFor } from "../../lib/fs-atomic.js";
import { addSignatures, canonicalJson, fromBase64, parseEnvelope, serializeEnvelope, signEnvelope, validSigners, type DsseEnvelope } from "./dsse.js";
import { gunzipStrict } from "./gzip-stream.js";
import { padding, tarFileHeader, tarTrailer, TarStreamParser } from "./tar-format.js";

/** Name of the outer member. */
export const PATCH_DSSE_MEMBER = "signature.dsse";
/** payloadType of its envelope. */
export const PATCH_DSSE_PAYLOAD_TYPE = "application/vnd.sw-patch.patch-digests+json";
/** `_type` of the payload. */
export const PATCH_DIGESTS_TYPE = "sw-patch/patch-digests/v1";
/** Members the payload names, when present in the patch. */
export const DSSE_SIGNED_MEMBERS = ["metadata.tar", "software.tar", "semantics.tar"] as const;

/** The payload bytes for these member digests (name to lowercase hex sha256). */
export function patchDigestsPayload(digests: Record<string, string>): Buffer {
  const members: Record<string, { sha256: string }> = {};
  for (const [name, sha256] of Object.entries(digests)) members[name] = { sha256 };
  return Buffer.from(canonicalJson({ _type: PATCH_DIGESTS_TYPE, members }), "utf8");
}

/** The member text for a new envelope over these digests, signed by `keys`. */
export function patchDsseMember(digests: Record<string, string>, keys: KeyObject[]): Buffer {
  return Buffer.from(serializeEnvelope(signEnvelope(PATCH_DSSE_PAYLOAD_TYPE, patchDigestsPayload(digests), keys)), "utf8");
}

/** The patch-signer keys and threshold a patch must meet (from the root of trust). */
export interface PatchSignerPolicy {
  /** Key id to public key. */
  keys: ReadonlyMap<string, KeyObject>;
  threshold: number;
  /** Root version, named in messages. */
  rootVersion: number;
}

/** Result of checking `signature.dsse`. */
export interface PatchDsseCheck {
  /** Distinct key ids of the policy with a valid signature. */
  signers: string[];
  threshold: number;
}

function refuse(had: number, needed: number, why: string): Error {
  return failedPrecondition(`Patch has ${had} valid patch-signer signature${had === 1 ? "" : "s"}, the root of trust requires ${needed}${why ? ` (${why})` : ""}`, {
    reason: "PATCH_SIGNATURE_THRESHOLD",
  });
}

/**
 * Checks the envelope against the members' digests and counts the policy's keys that signed it.
 * @param envelope the member's bytes, or null when the patch has none.
 * @param digests sha256 (hex) of each signed member present in the patch.
 * @throws DomainError invalid-argument for a malformed envelope or payload, failed-precondition
 *   (reason PATCH_SIGNATURE_THRESHOLD, "Patch has N valid patch-signer signatures, the root of
 *   trust requires M") when the digests differ or too few keys signed.
 */
export function checkPatchDsse(envelope: Uint8Array | null, digests: Record<string, string>, policy: PatchSignerPolicy): PatchDsseCheck {
  if (!envelope) throw refuse(0, policy.threshold, `no member '${PATCH_DSSE_MEMBER}'`);
  const env = parseEnvelope(envelope, `patch member '${PATCH_DSSE_MEMBER}'`);
  if (env.payloadType !== PATCH_DSSE_PAYLOAD_TYPE) {
    throw invalidArgument(`patch member '${PATCH_DSSE_MEMBER}': payloadType must be ${PATCH_DSSE_PAYLOAD_TYPE}`, { reason: "DSSE_INVALID" });
  }
  let payload: { _type?: unknown; members?: Record<string, { sha256?: unknown }> };
  try {
    payload = JSON.parse(env.payloadBytes.toString("utf8"));
  } catch {
    throw invalidArgument(`patch member '${PATCH_DSSE_MEMBER}': payload is not JSON`, { reason: "DSSE_INVALID" });
  }
  if (payload?._type !== PATCH_DIGESTS_TYPE || typeof payload.members !== "object" || payload.members === null) {
    throw invalidArgument(`patch member '${PATCH_DSSE_MEMBER}': payload is not a ${PATCH_DIGESTS_TYPE} statement`, { reason: "DSSE_INVALID" });
  }
  const named = Object.keys(payload.members).sort();
  const present = Object.keys(digests).sort();
  if (named.join("\0") !== present.join("\0")) {
    throw refuse(0, policy.threshold, `the signed payload names ${named.join(", ")}, the patch has ${present.join(", ")}`);
  }
  for (const n of present) {
    if (payload.members[n]?.sha256 !== digests[n]) throw refuse(0, policy.threshold, `the signed sha256 of ${n} does not match the patch`);
  }
  const signers = validSigners(env, policy.keys);
  if (signers.length < policy.threshold) throw refuse(signers.length, policy.threshold, "");
  return { signers, threshold: policy.threshold };
}

/** Reads the outer tar of a patch, calling `onMember` with each member's name and bytes. */
async function walkPatch(file: string, onMember: (name: string, size: number) => { write(b: Buffer): void | Promise<void>; end(): void | Promise<void> }) {
  const parser = new TarStreamParser("patch", (e) => onMember(e.name, e.size), 16);
  async function* src() {
    for await (const c of createReadStream(file, { highWaterMark: 1024 * 1024 })) yield c as Buffer;
  }
  await gunzipStrict(src(), (c) => parser.write(c));
  await parser.finish();
}

/**
 * Adds a signature by each key to `file`'s `signature.dsse` (creating the member when absent), over
 * the sha256 of its signed members; every other member is copied byte for byte. The file is
 * replaced by temp + rename. Keys that already signed are skipped.
 * @returns the key ids that sign the patch afterwards.
 */
export async function signPatchFile(file: string, keys: KeyObject[], opts: { mtime?: number } = {}): Promise<string[]> {
  const hashes = new Map<string, ReturnType<typeof createHash>>();
  let existing: Buffer | null = null;
  await walkPatch(file, (name) => {
    if (name === PATCH_DSSE_MEMBER) {
      const parts: Buffer[] = [];
      return { write: (b) => void parts.push(Buffer.from(b)), end: () => void (existing = Buffer.concat(parts)) };
    }
    const h = createHash("sha256");
    if ((DSSE_SIGNED_MEMBERS as readonly string[]).includes(name)) hashes.set(name, h);
    return { write: (b) => void h.update(b), end: () => undefined };
  });
  for (const m of ["metadata.tar", "software.tar"]) if (!hashes.has(m)) throw invalidArgument(`patch: missing member '${m}'`, { reason: "PATCH_MEMBER_MISSING" });
  const digests: Record<string, string> = {};
  for (const [n, h] of hashes) digests[n] = h.digest("hex");
  let env: DsseEnvelope;
  if (existing) {
    env = parseEnvelope(existing, `patch member '${PATCH_DSSE_MEMBER}'`);
    const want = patchDigestsPayload(digests);
    if (!fromBase64(env.payload)?.equals(want)) {
      throw failedPrecondition(`patch member '${PATCH_DSSE_MEMBER}' signs other content than this patch's members; remove it to sign again`, {
        reason: "DSSE_PAYLOAD_MISMATCH",
      });
    }
    env = addSignatures({ payloadType: env.payloadType, payload: env.payload, signatures: env.signatures }, keys);
  } else {
    env = signEnvelope(PATCH_DSSE_PAYLOAD_TYPE, patchDigestsPayload(digests), keys);
  }
  const member = Buffer.from(serializeEnvelope(env), "utf8");

  const hdr = { mtime: opts.mtime ?? Math.floor(Date.now() / 1000), mode: 0o644, uid: 0, gid: 0, uname: "root", gname: "root" };
  const tmp = tempPathFor(file);
  const gz = zlib.createGzip({ level: 9, chunkSize: 256 * 1024 });
  const done = pipeline(gz, createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
  let len = 0;
  const put = async (b: Buffer) => {
    len += b.length;
    if (!gz.write(b)) await once(gz, "drain");
  };
  try {
    await walkPatch(file, (name, size) => {
      if (name === PATCH_DSSE_MEMBER) return { write: () => undefined, end: () => undefined };
      let started = false;
      return {
        write: async (b) => {
          if (!started) {
            started = true;
            await put(tarFileHeader({ ...hdr, name, size }));
          }
          await put(b);
        },
        end: async () => {
          if (!started) await put(tarFileHeader({ ...hdr, name, size }));
          await put(padding(size));
        },
      };
    });
    await put(tarFileHeader({ ...hdr, name: PATCH_DSSE_MEMBER, size: member.length }));
    await put(member);
    await put(padding(member.length));
    gz.end(tarTrailer(len));
    await done;
    const fh = await fsp.open(tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    await fsyncDir(path.dirname(file));
  } catch (e) {
    gz.destroy();
    await done.catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return env.signatures.map((s) => s.keyid);
}
