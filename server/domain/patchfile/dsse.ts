/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) and the signature
 * schemes the root of trust accepts: Ed25519, ECDSA P-256 (SHA-256, DER signatures) and RSA
 * (RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32). Key ids are the lowercase hex sha256 of the public
 * key's DER SubjectPublicKeyInfo. Used for the patch member `signature.dsse` and for root documents.
 */
import * as crypto from "node:crypto";
import { invalidArgument } from "../errors.js";

/** A signature scheme, named by the key's type. */
export type DsseKeyType = "ed25519" | "ecdsa-p256" | "rsa";

/** One signature of an envelope. */
export interface DsseSignature {
  keyid: string;
  /** Standard base64. */
  sig: string;
}

/** A DSSE envelope as serialised (JSON). */
export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** Most signatures an envelope may carry. */
export const DSSE_MAX_SIGNATURES = 32;

function bad(msg: string, reason: string): Error {
  return invalidArgument(msg, { reason });
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const t = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `, "ascii"), t, Buffer.from(` ${payload.length} `, "ascii"), Buffer.from(payload)]);
}

/** sha256 over the DER SubjectPublicKeyInfo, lowercase hex (the same value as the trust store's fingerprint). */
export function keyIdOf(key: crypto.KeyObject): string {
  const pub = key.type === "private" ? crypto.createPublicKey(key) : key;
  return crypto
    .createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** The scheme of a key, or null for a type we do not accept (RSA below 2048 bits included). */
export function keyTypeOf(key: crypto.KeyObject): DsseKeyType | null {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return "ed25519";
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? "ecdsa-p256" : null;
    case "rsa":
      return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? "rsa" : null;
    default:
      return null;
  }
}

/** Load a signing key (PEM: Ed25519, ECDSA P-256 or RSA ≥ 2048, PKCS#8, SEC1 or PKCS#1). */
export function loadDsseSigningKey(pem: string | Buffer, source = "private key"): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: pem, format: "pem" });
  } catch (e) {
    throw bad(`Cannot parse signing key ${source}: ${(e as Error).message}`, "SIGNING_KEY_INVALID");
  }
  if (!keyTypeOf(key)) throw bad(`Signing key ${source} is not an Ed25519, ECDSA P-256 or RSA (2048 bits or more) key`, "SIGNING_KEY_INVALID");
  return key;
}

/** Load a public key (SPKI PEM, or an X.509 certificate) of an accepted type. */
export function loadDssePublicKey(pem: string, source = "public key"): crypto.KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw bad(`${source} holds a private key; give the public key`, "PUBLIC_KEY_INVALID");
  let key: crypto.KeyObject;
  try {
    key = /-----BEGIN CERTIFICATE-----/.test(pem) ? new crypto.X509Certificate(pem).publicKey : crypto.createPublicKey({ key: pem, format: "pem" });
  } catch (e) {
    throw bad(`Cannot parse ${source}: ${(e as Error).message}`, "PUBLIC_KEY_INVALID");
  }
  if (!keyTypeOf(key)) throw bad(`${source} is not an Ed25519, ECDSA P-256 or RSA (2048 bits or more) key`, "PUBLIC_KEY_INVALID");
  return key;
}

/** Sign `data` with the key's scheme. */
export function signBytes(data: Uint8Array, key: crypto.KeyObject): Buffer {
  switch (keyTypeOf(key)) {
    case "ed25519":
      return crypto.sign(null, data, key);
    case "ecdsa-p256":
      return crypto.sign("sha256", data, { key, dsaEncoding: "der" });
    case "rsa":
      return crypto.sign("sha256", data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    default:
      throw bad("unsupported signing key type", "SIGNING_KEY_INVALID");
  }
}

/** True if `sig` is a valid signature of `data` by `key` in the key's scheme. */
export function verifyBytes(data: Uint8Array, sig: Uint8Array, key: crypto.KeyObject): boolean {
  try {
    switch (keyTypeOf(key)) {
      case "ed25519":
        return crypto.verify(null, data, key, sig);
      case "ecdsa-p256":
        return crypto.verify("sha256", data, { key, dsaEncoding: "der" }, sig);
      case "rsa":
        return crypto.verify("sha256", data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Canonical JSON of a value made of objects, arrays, strings, safe integers and booleans: keys
 * sorted (by UTF-16 code units; our keys are ASCII), no insignificant whitespace, strings as
 * JSON.stringify writes them.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new Error("canonical JSON: only safe integers");
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  throw new Error(`canonical JSON: unsupported ${typeof v}`);
}

const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Base64 (standard or URL-safe, padding optional) to bytes; null when malformed. */
export function fromBase64(s: string): Buffer | null {
  if (typeof s !== "string" || !B64_RE.test(s)) return null;
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/**
 * Parse an envelope (JSON text or bytes), checking its shape only.
 * @throws DomainError invalid-argument naming `what` and the problem.
 */
export function parseEnvelope(text: string | Uint8Array, what: string): DsseEnvelope & { payloadBytes: Buffer } {
  let j: unknown;
  try {
    j = JSON.parse(typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (e) {
    throw bad(`${what}: not a JSON DSSE envelope (${(e as Error).message})`, "DSSE_INVALID");
  }
  const o = j as Partial<DsseEnvelope> | null;
  if (!o || typeof o !== "object" || Array.isArray(o)) throw bad(`${what}: not a JSON DSSE envelope`, "DSSE_INVALID");
  if (typeof o.payloadType !== "string" || typeof o.payload !== "string" || !Array.isArray(o.signatures)) {
    throw bad(`${what}: a DSSE envelope needs payloadType, payload and signatures`, "DSSE_INVALID");
  }
  const payloadBytes = fromBase64(o.payload);
  if (!payloadBytes) throw bad(`${what}: payload is not base64`, "DSSE_INVALID");
  if (o.signatures.length > DSSE_MAX_SIGNATURES) throw bad(`${what}: more than ${DSSE_MAX_SIGNATURES} signatures`, "DSSE_INVALID");
  const signatures: DsseSignature[] = [];
  for (const s of o.signatures as unknown[]) {
    const r = s as Partial<DsseSignature> | null;
    if (!r || typeof r !== "object" || typeof r.sig !== "string" || !fromBase64(r.sig) || (r.keyid !== undefined && typeof r.keyid !== "string")) {
      throw bad(`${what}: malformed signature entry`, "DSSE_INVALID");
    }
    signatures.push({ keyid: r.keyid ?? "", sig: r.sig });
  }
  return { payloadType: o.payloadType, payload: o.payload, signatures, payloadBytes };
}

/** Serialise an envelope (stable key order, one line, trailing newline). */
export function serializeEnvelope(env: DsseEnvelope): string {
  return canonicalJson({ payload: env.payload, payloadType: env.payloadType, signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) }) + "\n";
}

/** A new envelope over `payload`, signed by `keys` (in order). */
export function signEnvelope(payloadType: string, payload: Uint8Array, keys: crypto.KeyObject[]): DsseEnvelope {
  return addSignatures({ payloadType, payload: Buffer.from(payload).toString("base64"), signatures: [] }, keys);
}

/** The envelope with one more signature per key whose key id does not sign it yet. */
export function addSignatures(env: DsseEnvelope, keys: crypto.KeyObject[]): DsseEnvelope {
  const payload = fromBase64(env.payload);
  if (!payload) throw bad("DSSE envelope: payload is not base64", "DSSE_INVALID");
  const msg = pae(env.payloadType, payload);
  const signatures = [...env.signatures];
  for (const k of keys) {
    const keyid = keyIdOf(k);
    if (signatures.some((s) => s.keyid === keyid)) continue;
    signatures.push({ keyid, sig: signBytes(msg, k).toString("base64") });
  }
  return { ...env, signatures };
}

/**
 * The distinct key ids among `allowed` with a valid signature on the envelope (each key counted
 * once, whatever keyid hint a signature carries: every allowed key is tried against it).
 */
export function validSigners(env: DsseEnvelope, allowed: ReadonlyMap<string, crypto.KeyObject>): string[] {
  const payload = fromBase64(env.payload);
  if (!payload) return [];
  const msg = pae(env.payloadType, payload);
  const ok = new Set<string>();
  for (const s of env.signatures) {
    const sig = fromBase64(s.sig);
    if (!sig) continue;
    // The named key first (the usual case: one verification), then every other allowed key.
    const hinted = allowed.get(s.keyid);
    const candidates = hinted ? [[s.keyid, hinted] as const, ...[...allowed.entries()].filter(([id]) => id !== s.keyid)] : [...allowed.entries()];
    for (const [id, key] of candidates) {
      if (!ok.has(id) && verifyBytes(msg, sig, key)) {
        ok.add(id);
        break;
      }
    }
  }
  return [...ok].sort();
}
