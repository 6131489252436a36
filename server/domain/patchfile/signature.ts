/**
 * The two patch signatures: `signature` (md5 XOR checksum, damage detection only) and
 * `signature.v2` (RSASSA-PSS SHA-256 over metadata.tar || software.tar [|| semantics.tar]), plus the
 * trust store of public keys a verifier accepts.
 */
import * as crypto from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { invalidArgument } from "../errors.js";

const ALL_ONES = (1n << 128n) - 1n;

/** The `signature` text for the given md5 digests (in any order): lowercase hex, unpadded, no newline. */
export function md5SignatureText(md5s: Uint8Array[]): string {
  let sig = ALL_ONES;
  for (const d of md5s) sig ^= BigInt("0x" + Buffer.from(d).toString("hex"));
  return sig.toString(16);
}

/**
 * Parse signature text as Python's `int(text, 16)` does: surrounding whitespace, optional sign,
 * optional 0x/0X prefix, upper or lower case, single underscores between digits.
 * @returns the value, or null if Python would raise ValueError.
 */
export function parsePythonHexInt(text: string): bigint | null {
  const t = text.replace(/^[\s\x1c-\x1f\x85\xa0]+|[\s\x1c-\x1f\x85\xa0]+$/g, "");
  const m = /^([+-]?)(?:0[xX]_?)?([0-9A-Fa-f](?:_?[0-9A-Fa-f])*)$/.exec(t);
  if (!m) return null;
  const v = BigInt("0x" + m[2].replace(/_/g, ""));
  return m[1] === "-" ? -v : v;
}

/** True if `text` (the `signature` member) matches the md5 digests of the signed members. */
export function verifyMd5Signature(text: string, md5s: Uint8Array[]): boolean {
  const v = parsePythonHexInt(text);
  if (v === null || v < 0n) return false;
  let x = v;
  for (const d of md5s) x ^= BigInt("0x" + Buffer.from(d).toString("hex"));
  return x === ALL_ONES;
}

// ---------------------------------------------------------------------------------------------
// signature.v2

/** PSS salt length the reference uses (the SHA-256 digest length). */
export const PSS_SALT_LENGTH = 32;

/** Load an RSA private key (PEM, PKCS#1 or PKCS#8) for signing. */
export function loadPrivateKey(pem: string | Buffer, source = "private key"): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: pem, format: "pem" });
  } catch (e) {
    throw invalidArgument(`Cannot parse signing key ${source}: ${(e as Error).message}`, { reason: "SIGNING_KEY_INVALID" });
  }
  if (key.asymmetricKeyType !== "rsa") throw invalidArgument(`Signing key ${source} is not an RSA key`, { reason: "SIGNING_KEY_INVALID" });
  return key;
}

/** Sign a SHA-256 digest with RSASSA-PSS (MGF1-SHA-256, salt 32). Returns the raw signature bytes. */
export function signDigestPss(digest: Uint8Array, key: crypto.KeyObject): Buffer {
  // Node signs data, not digests; a sign() over a pre-hashed value needs the "digest" to be hashed
  // again, so build EMSA-PSS ourselves and apply the raw RSA private operation.
  const k = ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3;
  const modBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const em = emsaPssEncode(Buffer.from(digest), modBits - 1, crypto.randomBytes(PSS_SALT_LENGTH));
  const padded = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return crypto.privateEncrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, padded);
}

function mgf1(seed: Buffer, len: number): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (let c = 0; n < len; c++) {
    const cb = Buffer.alloc(4);
    cb.writeUInt32BE(c);
    const h = crypto.createHash("sha256").update(seed).update(cb).digest();
    out.push(h);
    n += h.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

function emsaPssEncode(mHash: Buffer, emBits: number, salt: Buffer): Buffer {
  const hLen = 32;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2) throw new Error("key too small for PSS");
  const h = crypto.createHash("sha256").update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - salt.length - hLen - 2] = 0x01;
  salt.copy(db, db.length - salt.length);
  const mask = mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function emsaPssVerify(mHash: Buffer, em: Buffer, emBits: number, sLen: number): boolean {
  const hLen = 32;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if (topBits > 0 && (maskedDb[0] & (0xff << (8 - topBits)) & 0xff) !== 0) return false;
  const mask = mgf1(Buffer.from(h), maskedDb.length);
  const db = Buffer.alloc(maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i] = maskedDb[i] ^ mask[i];
  db[0] &= 0xff >> topBits;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - sLen);
  const h2 = crypto.createHash("sha256").update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return crypto.timingSafeEqual(h, h2);
}

const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");
const SHA256_DIGEST_INFO_NO_NULL = Buffer.from("302f300b0609608648016503040201" + "0420", "hex");

function pkcs1v15Verify(mHash: Buffer, em: Buffer, k: number): boolean {
  for (const prefix of [SHA256_DIGEST_INFO, SHA256_DIGEST_INFO_NO_NULL]) {
    const t = Buffer.concat([prefix, mHash]);
    if (k < t.length + 11) continue;
    const expected = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - t.length - 3, 0xff), Buffer.from([0]), t]);
    if (expected.length === em.length && crypto.timingSafeEqual(expected, em)) return true;
  }
  return false;
}

/** A public key a verifier trusts, with the label reported when it verifies a patch. */
export interface TrustedKey {
  label: string;
  key: crypto.KeyObject;
  /** File it was loaded from, if any. */
  source?: string;
}

/** Ordered list of trusted keys; verification tries them in order. */
export interface TrustStore {
  keys: TrustedKey[];
}

/** Which key and scheme verified a signature. */
export interface SignatureCheck {
  label: string;
  scheme: "pss" | "pkcs1v15";
}

/**
 * Verify a raw `signature.v2` against a SHA-256 digest of the signed members, trying every key of
 * the store in order: first RSASSA-PSS (MGF1-SHA-256, salt exactly 32 bytes), then PKCS#1 v1.5
 * with a SHA-256 DigestInfo (with or without NULL parameters).
 * @returns the label and scheme of the first key that verifies, or null.
 */
export function verifyDigestSignature(digest: Uint8Array, signature: Uint8Array, store: TrustStore): SignatureCheck | null {
  const mHash = Buffer.from(digest);
  const sig = Buffer.from(signature);
  for (const { label, key } of store.keys) {
    const modBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    const k = (modBits + 7) >> 3;
    if (sig.length !== k || k === 0) continue;
    let em: Buffer;
    try {
      em = crypto.publicDecrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, sig);
    } catch {
      continue; // e.g. signature representative out of range
    }
    if (em.length !== k) continue;
    const emBits = modBits - 1;
    const emPss = Math.ceil(emBits / 8) < k ? (em[0] === 0 ? em.subarray(1) : null) : em;
    if (emPss && emsaPssVerify(mHash, emPss, emBits, PSS_SALT_LENGTH)) return { label, scheme: "pss" };
    if (pkcs1v15Verify(mHash, em, k)) return { label, scheme: "pkcs1v15" };
  }
  return null;
}

function trustError(msg: string): Error {
  return invalidArgument(msg, { reason: "TRUST_STORE_INVALID" });
}

/** Split a `PATH[:label]` spec. The label defaults to the file's basename without extension. */
export function parseTrustSpec(spec: string): { path: string; label: string } {
  const colon = spec.lastIndexOf(":");
  let file = spec;
  let label: string | undefined;
  if (colon > 0 && !spec.slice(colon + 1).includes("/")) {
    file = spec.slice(0, colon);
    label = spec.slice(colon + 1);
  }
  if (label === undefined) label = path.basename(file).replace(/\.[^.]*$/, "");
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(label)) throw trustError(`Invalid trust label '${label}' in '${spec}'`);
  if (file === "") throw trustError(`Invalid trust spec '${spec}'`);
  return { path: file, label };
}

/** Parse one PEM text (X.509 certificate, SPKI PUBLIC KEY or PKCS#1 RSA PUBLIC KEY) into an RSA key. */
export function publicKeyFromPem(pem: string, source: string): crypto.KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw trustError(`Trust file ${source} holds a private key; give the certificate or public key`);
  let key: crypto.KeyObject;
  try {
    if (/-----BEGIN CERTIFICATE-----/.test(pem)) {
      // Tolerate indented base64 lines, as the reference's embedded certificates have.
      const clean = pem.replace(/^[ \t]+/gm, "");
      key = new crypto.X509Certificate(clean).publicKey;
    } else if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem)) {
      const clean = pem.replace(/^[ \t]+/gm, "");
      key = crypto.createPublicKey({ key: clean, format: "pem", type: /BEGIN RSA PUBLIC KEY/.test(clean) ? "pkcs1" : "spki" });
    } else {
      throw new Error("no PEM certificate or public key found");
    }
  } catch (e) {
    throw trustError(`Cannot parse trust file ${source}: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== "rsa") throw trustError(`Trust file ${source} does not hold an RSA key`);
  return key;
}

/**
 * Load a trust store from `PATH[:label]` specs, in order.
 * @throws DomainError invalid-argument "Cannot read trust file X: ..." / "Cannot parse trust file X: ...".
 */
export async function loadTrustStore(specs: string[]): Promise<TrustStore> {
  const keys: TrustedKey[] = [];
  for (const spec of specs) {
    const { path: file, label } = parseTrustSpec(spec);
    let pem: string;
    try {
      pem = await fsp.readFile(file, "utf8");
    } catch (e) {
      throw trustError(`Cannot read trust file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    keys.push({ label, key: publicKeyFromPem(pem, file), source: file });
  }
  return { keys };
}
