/**
 * The root of trust for patches (issue 21; docs/security.md "Root of trust and patch signatures"):
 * a DSSE envelope (payloadType TRUST_ROOT_PAYLOAD_TYPE) whose payload is canonical JSON
 *
 *   {"_type":"sw-patch/trust-root/v1","expires":"2027-12-03T18:00:00Z",
 *    "keys":{"<keyid>":{"keytype":"ed25519","public":"-----BEGIN PUBLIC KEY-----..."}},
 *    "roles":{"patch-signer":{"keyids":[...],"threshold":2},"root":{"keyids":[...],"threshold":2}},
 *    "version":1}
 *
 * Key ids are the sha256 of the key's DER SubjectPublicKeyInfo. A document is valid on its own when
 * a threshold of its own root keys signed it; version N+1 replaces N only when a threshold of N's
 * root keys and a threshold of its own signed it (each key counted once).
 */
import type { KeyObject } from "node:crypto";
import { createHash } from "node:crypto";
import { failedPrecondition, invalidArgument } from "../errors.js";
import { canonicalJson, keyIdOf, keyTypeOf, loadDssePublicKey, parseEnvelope, serializeEnvelope, validSigners, type DsseEnvelope } from "../patchfile/dsse.js";

/** payloadType of a root document's envelope. */
export const TRUST_ROOT_PAYLOAD_TYPE = "application/vnd.sw-patch.trust-root+json";
/** `_type` of its payload. */
export const TRUST_ROOT_TYPE = "sw-patch/trust-root/v1";
/** The roles a root names, each with keys and a threshold. */
export const TRUST_ROOT_ROLES = ["root", "patch-signer"] as const;
export type TrustRootRoleName = (typeof TRUST_ROOT_ROLES)[number];
/** Most keys a root may list, and the largest document. */
export const TRUST_ROOT_MAX_KEYS = 32;
export const TRUST_ROOT_MAX_BYTES = 256 * 1024;

/** One role: the key ids that may sign for it and how many must. */
export interface TrustRootRole {
  keyids: string[];
  threshold: number;
}

/** The signed payload. */
export interface TrustRootBody {
  _type: typeof TRUST_ROOT_TYPE;
  version: number;
  /** ISO-8601 UTC, seconds precision: YYYY-MM-DDTHH:MM:SSZ. */
  expires: string;
  keys: Record<string, { keytype: string; public: string }>;
  roles: Record<TrustRootRoleName, TrustRootRole>;
}

/** A parsed, well-formed root document (signatures not yet counted). */
export interface TrustRootDoc {
  body: TrustRootBody;
  envelope: DsseEnvelope;
  /** The document as stored and shown (serialised envelope). */
  text: string;
  /** sha256 of `text`, lowercase hex. */
  sha256: string;
  /** Every listed key, by key id. */
  keys: ReadonlyMap<string, KeyObject>;
}

const EXPIRES_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const KEYID_RE = /^[0-9a-f]{64}$/;

function bad(msg: string): Error {
  return invalidArgument(`trust root: ${msg}`, { reason: "TRUST_ROOT_INVALID" });
}

/**
 * Parse and check a root document's form: envelope, canonical payload, key ids that match their
 * keys, both roles with known keys and a threshold between 1 and their key count.
 * @throws DomainError invalid-argument "trust root: ..." (reason TRUST_ROOT_INVALID).
 */
export function parseTrustRoot(text: string): TrustRootDoc {
  if (Buffer.byteLength(text) > TRUST_ROOT_MAX_BYTES) throw bad(`larger than ${TRUST_ROOT_MAX_BYTES} bytes`);
  const env = parseEnvelope(text, "trust root");
  if (env.payloadType !== TRUST_ROOT_PAYLOAD_TYPE) throw bad(`payloadType must be ${TRUST_ROOT_PAYLOAD_TYPE}`);
  let body: TrustRootBody;
  try {
    body = JSON.parse(env.payloadBytes.toString("utf8")) as TrustRootBody;
  } catch {
    throw bad("payload is not JSON");
  }
  if (!body || typeof body !== "object" || body._type !== TRUST_ROOT_TYPE) throw bad(`payload _type must be ${TRUST_ROOT_TYPE}`);
  if (canonicalJson(body) !== env.payloadBytes.toString("utf8")) throw bad("payload is not canonical JSON (sorted keys, no spaces)");
  if (!Number.isSafeInteger(body.version) || body.version < 1) throw bad("version must be a positive integer");
  if (typeof body.expires !== "string" || !EXPIRES_RE.test(body.expires) || Number.isNaN(Date.parse(body.expires))) {
    throw bad("expires must be YYYY-MM-DDTHH:MM:SSZ");
  }
  if (!body.keys || typeof body.keys !== "object") throw bad("keys missing");
  const ids = Object.keys(body.keys);
  if (ids.length === 0 || ids.length > TRUST_ROOT_MAX_KEYS) throw bad(`between 1 and ${TRUST_ROOT_MAX_KEYS} keys`);
  const keys = new Map<string, KeyObject>();
  for (const id of ids) {
    const k = body.keys[id]!;
    if (!KEYID_RE.test(id)) throw bad(`key id ${id.slice(0, 70)} is not a lowercase hex sha256`);
    if (!k || typeof k.public !== "string") throw bad(`key ${id}: public key missing`);
    const key = loadDssePublicKey(k.public, `trust root key ${id}`);
    if (keyIdOf(key) !== id) throw bad(`key id ${id} is not the sha256 of its key`);
    if (k.keytype !== keyTypeOf(key)) throw bad(`key ${id}: keytype ${String(k.keytype)} does not match the key (${keyTypeOf(key)})`);
    keys.set(id, key);
  }
  if (!body.roles || typeof body.roles !== "object") throw bad("roles missing");
  const roleNames = Object.keys(body.roles).sort();
  if (roleNames.join(",") !== [...TRUST_ROOT_ROLES].sort().join(",")) throw bad(`roles must be exactly ${TRUST_ROOT_ROLES.join(" and ")}`);
  for (const r of TRUST_ROOT_ROLES) {
    const role = body.roles[r];
    if (!role || !Array.isArray(role.keyids) || role.keyids.length === 0) throw bad(`role ${r}: keyids missing`);
    if (new Set(role.keyids).size !== role.keyids.length) throw bad(`role ${r}: a key id is listed twice`);
    for (const id of role.keyids) if (!keys.has(id)) throw bad(`role ${r}: key id ${String(id).slice(0, 70)} is not in keys`);
    if (!Number.isSafeInteger(role.threshold) || role.threshold < 1 || role.threshold > role.keyids.length) {
      throw bad(`role ${r}: threshold must be between 1 and its ${role.keyids.length} keys`);
    }
  }
  const serialized = serializeEnvelope(env);
  return { body, envelope: env, text: serialized, sha256: createHash("sha256").update(serialized).digest("hex"), keys };
}

/** The keys of one role, by key id. */
export function roleKeys(doc: TrustRootDoc, role: TrustRootRoleName): Map<string, KeyObject> {
  return new Map(doc.body.roles[role].keyids.map((id) => [id, doc.keys.get(id)!]));
}

/** The distinct keys of `signedBy`'s `role` with a valid signature on `doc`. */
export function rootSigners(doc: TrustRootDoc, signedBy: TrustRootDoc, role: TrustRootRoleName = "root"): string[] {
  return validSigners(doc.envelope, roleKeys(signedBy, role));
}

/** True once `doc`'s expiry has passed. */
export function isExpired(doc: TrustRootDoc, now: Date): boolean {
  return Date.parse(doc.body.expires) <= now.getTime();
}

function thresholdError(what: string, had: number, needed: number): Error {
  return failedPrecondition(`trust root: ${what}: ${had} valid signature${had === 1 ? "" : "s"}, ${needed} required`, { reason: "TRUST_ROOT_THRESHOLD" });
}

/**
 * A first root: a threshold of its own root keys signed it and it has not expired.
 * @throws DomainError failed-precondition (reasons TRUST_ROOT_THRESHOLD, TRUST_ROOT_EXPIRED).
 */
export function verifyInitialRoot(doc: TrustRootDoc, now: Date): void {
  const own = rootSigners(doc, doc);
  if (own.length < doc.body.roles.root.threshold)
    throw thresholdError(`version ${doc.body.version} signed by its own root keys`, own.length, doc.body.roles.root.threshold);
  if (isExpired(doc, now)) throw failedPrecondition(`trust root: version ${doc.body.version} expired at ${doc.body.expires}`, { reason: "TRUST_ROOT_EXPIRED" });
}

/**
 * `next` may replace `current`: version exactly N+1, a threshold of N's root keys and a threshold
 * of its own root keys signed it, and it has not expired (`current` may have: rotating is how an
 * expired root is renewed).
 * @throws DomainError failed-precondition (reasons TRUST_ROOT_VERSION, TRUST_ROOT_THRESHOLD, TRUST_ROOT_EXPIRED).
 */
export function verifyRotation(current: TrustRootDoc, next: TrustRootDoc, now: Date): void {
  const n = current.body.version;
  if (next.body.version !== n + 1) {
    throw failedPrecondition(`trust root: version ${next.body.version} cannot replace version ${n} (only version ${n + 1} can)`, { reason: "TRUST_ROOT_VERSION" });
  }
  const old = rootSigners(next, current);
  if (old.length < current.body.roles.root.threshold) {
    throw thresholdError(`version ${n + 1} signed by the root keys of version ${n}`, old.length, current.body.roles.root.threshold);
  }
  const own = rootSigners(next, next);
  if (own.length < next.body.roles.root.threshold) throw thresholdError(`version ${n + 1} signed by its own root keys`, own.length, next.body.roles.root.threshold);
  if (isExpired(next, now)) throw failedPrecondition(`trust root: version ${n + 1} expired at ${next.body.expires}`, { reason: "TRUST_ROOT_EXPIRED" });
}
