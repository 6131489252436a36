/**
 * Offline side of the root of trust (issue 21): build a root document and sign it with root keys,
 * on the machine that holds them. The controller only ever receives the signed document
 * (AdminService TrustRootSet / TrustRootRotate) and checks it with its own code
 * (server/domain/auth/trust-root.ts, which this file must agree with byte for byte: DSSE v1 PAE,
 * canonical JSON, key id = sha256 of the DER SubjectPublicKeyInfo).
 */
import * as crypto from "node:crypto";

/** payloadType of a root document's DSSE envelope. */
export const TRUST_ROOT_PAYLOAD_TYPE = "application/vnd.sw-patch.trust-root+json";
/** `_type` of its payload. */
export const TRUST_ROOT_TYPE = "sw-patch/trust-root/v1";

/** The payload of a root document. */
export interface TrustRootBody {
  _type: string;
  version: number;
  expires: string;
  keys: Record<string, { keytype: string; public: string }>;
  roles: Record<"root" | "patch-signer", { keyids: string[]; threshold: number }>;
}

/** What `makeTrustRoot` needs; public keys as PEM (SPKI or certificate). */
export interface TrustRootSpec {
  rootKeys: string[];
  rootThreshold: number;
  /** Default: the root keys. */
  signerKeys?: string[];
  /** Default: the root threshold. */
  signerThreshold?: number;
  /** Default 1. */
  version?: number;
  expires: Date;
}

function keyType(key: crypto.KeyObject): string {
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ecdsa-p256";
  if (key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return "rsa";
  throw new Error("not an Ed25519, ECDSA P-256 or RSA (2048 bits or more) key");
}

/** Canonical JSON: sorted keys, no whitespace (objects, arrays, strings, safe integers, booleans). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new Error("canonical JSON: only safe integers");
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/** DSSE v1 pre-authentication encoding. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const t = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `, "ascii"), t, Buffer.from(` ${payload.length} `, "ascii"), Buffer.from(payload)]);
}

/** The public key of a PEM (public key, certificate, or the public half of a private key). */
export function publicKeyOf(pem: string): crypto.KeyObject {
  if (/-----BEGIN CERTIFICATE-----/.test(pem)) return new crypto.X509Certificate(pem).publicKey;
  if (/PRIVATE KEY-----/.test(pem)) return crypto.createPublicKey(crypto.createPrivateKey(pem));
  return crypto.createPublicKey(pem);
}

/** Key id: lowercase hex sha256 of the DER SubjectPublicKeyInfo. */
export function keyIdOf(key: crypto.KeyObject): string {
  return crypto
    .createHash("sha256")
    .update((key.type === "private" ? crypto.createPublicKey(key) : key).export({ type: "spki", format: "der" }))
    .digest("hex");
}

function roleOf(pems: string[], threshold: number, keys: TrustRootBody["keys"], what: string): { keyids: string[]; threshold: number } {
  const keyids: string[] = [];
  for (const pem of pems) {
    const key = publicKeyOf(pem);
    const id = keyIdOf(key);
    if (keyids.includes(id)) throw new Error(`${what}: the same key is given twice (${id})`);
    keys[id] = { keytype: keyType(key), public: key.export({ type: "spki", format: "pem" }).toString() };
    keyids.push(id);
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyids.length) throw new Error(`${what}: threshold must be between 1 and ${keyids.length}`);
  return { keyids: keyids.sort(), threshold };
}

/** An unsigned root document (a DSSE envelope with no signatures), as JSON text. */
export function makeTrustRoot(spec: TrustRootSpec): string {
  const keys: TrustRootBody["keys"] = {};
  const root = roleOf(spec.rootKeys, spec.rootThreshold, keys, "root");
  const signer = roleOf(spec.signerKeys ?? spec.rootKeys, spec.signerThreshold ?? spec.rootThreshold, keys, "patch-signer");
  const body: TrustRootBody = {
    _type: TRUST_ROOT_TYPE,
    version: spec.version ?? 1,
    expires: spec.expires.toISOString().replace(/\.\d{3}Z$/, "Z"),
    keys,
    roles: { root, "patch-signer": signer },
  };
  return envelopeText(Buffer.from(canonicalJson(body), "utf8"), []);
}

function envelopeText(payload: Buffer, signatures: { keyid: string; sig: string }[]): string {
  return canonicalJson({ payload: payload.toString("base64"), payloadType: TRUST_ROOT_PAYLOAD_TYPE, signatures }) + "\n";
}

/** Reads a root document's payload (no signature is checked). */
export function readTrustRoot(text: string): { body: TrustRootBody; signatures: { keyid: string; sig: string }[] } {
  const env = JSON.parse(text) as { payloadType?: string; payload?: string; signatures?: { keyid: string; sig: string }[] };
  if (env.payloadType !== TRUST_ROOT_PAYLOAD_TYPE || typeof env.payload !== "string") throw new Error(`not a root document (payloadType ${TRUST_ROOT_PAYLOAD_TYPE})`);
  return { body: JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as TrustRootBody, signatures: env.signatures ?? [] };
}

/**
 * Adds a signature by each private key (PEM) to a root document; a key that already signed is
 * skipped. Ed25519, ECDSA P-256 (DER) and RSA-PSS (SHA-256, salt 32) over the DSSE PAE.
 */
export function signTrustRoot(text: string, privatePems: string[]): string {
  const { signatures } = readTrustRoot(text);
  const env = JSON.parse(text) as { payload: string };
  const payload = Buffer.from(env.payload, "base64");
  const msg = pae(TRUST_ROOT_PAYLOAD_TYPE, payload);
  const out = [...signatures];
  for (const pem of privatePems) {
    const key = crypto.createPrivateKey(pem);
    const keyid = keyIdOf(key);
    if (out.some((s) => s.keyid === keyid)) continue;
    const t = keyType(key);
    const sig =
      t === "ed25519"
        ? crypto.sign(null, msg, key)
        : t === "ecdsa-p256"
          ? crypto.sign("sha256", msg, { key, dsaEncoding: "der" })
          : crypto.sign("sha256", msg, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    out.push({ keyid, sig: sig.toString("base64") });
  }
  return envelopeText(payload, out);
}

/** Parses a duration like `365d`, `12h`, `30m`, `90s` (or bare seconds) into milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration '${s}' (use e.g. 365d, 12h, 30m)`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit * 1000;
}
