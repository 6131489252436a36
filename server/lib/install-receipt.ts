/**
 * FLOOR (issue 21): signed install receipts (docs/security.md, "Anti-rollback floor and install
 * receipts"). An enrolled agent signs, after every install or removal, an in-toto Statement v1 in a
 * DSSE envelope with its own Ed25519 receipt key; the controller verifies it with that host's
 * registered key. Shared by the agent (sign) and the controller (verify); the SDK has its own
 * verifier (clients/sdk/src/install-receipt.ts) so that `sw-patch host-receipts --verify` checks
 * the controller's answer independently.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";

/** The DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** in-toto Statement v1. */
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** Our predicate. */
export const INSTALL_RECEIPT_PREDICATE_TYPE = "https://starlingx.io/sw-patch/install-receipt/v1";
/** Largest envelope the controller takes (bytes of JSON). */
export const MAX_RECEIPT_ENVELOPE_BYTES = 1 << 20;

/** A package in the statement's subject. */
export interface ReceiptSubject {
  /** The package file name (name-version-release.arch.rpm). */
  name: string;
  digest: { sha256: string };
}

/** The install receipt predicate. */
export interface InstallReceiptPredicate {
  host: string;
  /** Applied and committed patches of the host's release the set came from (sorted). */
  patches: string[];
  /** "install" (nothing erased or downgraded) or "remove". */
  operation: "install" | "remove";
  operationId: string;
  result: "success" | "failed" | "rejected";
  /** Why it failed or was rejected ("" on success). */
  reason: string;
  /** sha256 of the host's sorted `rpm -qa` list (one `name-epoch:version-release.arch` per line) after the operation. */
  rpmDatabaseDigest: { sha256: string };
  /** The agent's anti-rollback floor after the operation. */
  securityFloor: number;
  /** The security counter of the package set the controller sent. */
  setSecurityCounter: number;
  /** The agent's receipt counter: 1, 2, 3, ... never reused. */
  counter: number;
  /** ISO-8601. */
  time: string;
}

/** The in-toto statement. */
export interface InstallReceiptStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: ReceiptSubject[];
  predicateType: typeof INSTALL_RECEIPT_PREDICATE_TYPE;
  predicate: InstallReceiptPredicate;
}

/** A DSSE envelope. */
export interface DsseEnvelope {
  payloadType: string;
  /** base64. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** DSSE v1 pre-authentication encoding. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The key id of a public key: sha256 of its SPKI DER, hex. */
export function receiptKeyId(publicKey: KeyObject | string): string {
  const k = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  return createHash("sha256")
    .update(k.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** A fresh Ed25519 receipt key pair as PEM (PKCS#8 private, SPKI public). */
export function generateReceiptKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/**
 * Parses a receipt public key (PEM SPKI); it must be Ed25519.
 * @throws Error naming what is wrong.
 */
export function parseReceiptPublicKey(pem: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPublicKey(pem);
  } catch (e) {
    throw new Error(`not a PEM public key (${(e as Error).message})`);
  }
  if (k.asymmetricKeyType !== "ed25519") throw new Error(`an Ed25519 key is required, got ${k.asymmetricKeyType ?? "unknown"}`);
  return k;
}

/** Signs a statement: the DSSE envelope as JSON. */
export function signInstallReceipt(statement: InstallReceiptStatement, privateKey: KeyObject): string {
  const payload = Buffer.from(JSON.stringify(statement), "utf8");
  const sig = cryptoSign(null, dssePae(IN_TOTO_PAYLOAD_TYPE, payload), privateKey);
  const env: DsseEnvelope = {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString("base64"),
    signatures: [{ keyid: receiptKeyId(createPublicKey(privateKey)), sig: sig.toString("base64") }],
  };
  return JSON.stringify(env);
}

/** A receipt that failed to parse or verify: the message says why. */
export class ReceiptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReceiptError";
  }
}

/** Parses an envelope's JSON (shape only, no signature check). @throws ReceiptError */
export function parseEnvelope(json: string): DsseEnvelope {
  if (Buffer.byteLength(json) > MAX_RECEIPT_ENVELOPE_BYTES) throw new ReceiptError(`receipt envelope larger than ${MAX_RECEIPT_ENVELOPE_BYTES} bytes`);
  let e: Partial<DsseEnvelope>;
  try {
    e = JSON.parse(json) as Partial<DsseEnvelope>;
  } catch {
    throw new ReceiptError("receipt envelope is not JSON");
  }
  if (!e || typeof e !== "object" || e.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new ReceiptError(`receipt envelope payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  if (typeof e.payload !== "string" || !Array.isArray(e.signatures) || e.signatures.length === 0)
    throw new ReceiptError("receipt envelope has no payload or no signature");
  for (const s of e.signatures) {
    if (!s || typeof s.keyid !== "string" || typeof s.sig !== "string") throw new ReceiptError("receipt envelope signature without keyid or sig");
  }
  return e as DsseEnvelope;
}

/**
 * Verifies an envelope with `publicKey` (one of its signatures must be by that key and valid) and
 * returns its statement, checked for shape.
 * @throws ReceiptError when the signature or the statement is not right.
 */
export function verifyInstallReceipt(json: string, publicKey: KeyObject): InstallReceiptStatement {
  const env = parseEnvelope(json);
  const keyId = receiptKeyId(publicKey);
  const payload = Buffer.from(env.payload, "base64");
  const mine = env.signatures.filter((s) => s.keyid === keyId);
  if (mine.length === 0) throw new ReceiptError(`receipt is not signed by key ${keyId.slice(0, 16)}…`);
  const pae = dssePae(env.payloadType, payload);
  if (!mine.some((s) => cryptoVerify(null, pae, publicKey, Buffer.from(s.sig, "base64")))) throw new ReceiptError("receipt signature does not verify");
  return parseStatement(payload);
}

function parseStatement(payload: Buffer): InstallReceiptStatement {
  let st: InstallReceiptStatement;
  try {
    st = JSON.parse(payload.toString("utf8")) as InstallReceiptStatement;
  } catch {
    throw new ReceiptError("receipt payload is not JSON");
  }
  if (st?._type !== IN_TOTO_STATEMENT_TYPE) throw new ReceiptError(`receipt statement _type must be ${IN_TOTO_STATEMENT_TYPE}`);
  if (st.predicateType !== INSTALL_RECEIPT_PREDICATE_TYPE) throw new ReceiptError(`receipt predicateType must be ${INSTALL_RECEIPT_PREDICATE_TYPE}`);
  const p = st.predicate;
  if (!Array.isArray(st.subject) || !p || typeof p !== "object") throw new ReceiptError("receipt statement without subject or predicate");
  if (typeof p.host !== "string" || !Number.isSafeInteger(p.counter) || p.counter < 1) throw new ReceiptError("receipt predicate without host or a positive counter");
  if (!["install", "remove"].includes(p.operation) || !["success", "failed", "rejected"].includes(p.result))
    throw new ReceiptError("receipt predicate operation or result unknown");
  if (typeof p.operationId !== "string" || !Number.isSafeInteger(p.securityFloor)) throw new ReceiptError("receipt predicate without operationId or securityFloor");
  return st;
}

/** The rpm database digest of a package list: sha256 of the sorted `name-epoch:version-release.arch` lines. */
export function rpmDatabaseDigest(packages: readonly { name: string; epoch: string; version: string; release: string; arch: string }[]): string {
  const lines = packages.map((p) => `${p.name}-${p.epoch || "0"}:${p.version}-${p.release}.${p.arch}\n`).sort();
  return createHash("sha256").update(lines.join("")).digest("hex");
}
