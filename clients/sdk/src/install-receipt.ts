/**
 * FLOOR (issue 21): checks a host's signed install receipts on the client side (`sw-patch
 * host-receipts --verify`), independently of the controller: each receipt is a DSSE envelope
 * (payloadType application/vnd.in-toto+json) over an in-toto Statement v1 whose predicate names the
 * host, the patches, the operation, its result, the rpm database digest, the host's security floor
 * and a counter; it is signed (Ed25519 over the DSSE pre-authentication encoding) by the receipt key
 * the host registered at enrolment. docs/security.md, "Anti-rollback floor and install receipts".
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import type { InstallReceipt, InstallReceiptKey } from "./gen/swpatch/v1/host_service.js";

/** What a receipt's statement says (the fields `host-receipts` shows). */
export interface InstallReceiptPredicate {
  host: string;
  patches: string[];
  operation: string;
  operationId: string;
  result: string;
  reason: string;
  rpmDatabaseDigest: { sha256: string };
  securityFloor: number;
  setSecurityCounter?: number;
  counter: number;
  time: string;
}

/** The outcome of checking one receipt. */
export interface ReceiptCheck {
  ok: boolean;
  /** Why it does not verify ("" when ok). */
  problem: string;
  predicate?: InstallReceiptPredicate;
  /** Number of packages in the statement's subject. */
  subjects: number;
}

const PAYLOAD_TYPE = "application/vnd.in-toto+json";
const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** DSSE v1 pre-authentication encoding. */
function pae(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

/** Reads a receipt's statement without checking its signature (for display); undefined when unreadable. */
export function readInstallReceipt(r: Pick<InstallReceipt, "envelope">): { predicate: InstallReceiptPredicate; subjects: number } | undefined {
  try {
    const env = JSON.parse(r.envelope) as { payload: string };
    const st = JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as { subject: unknown[]; predicate: InstallReceiptPredicate };
    return { predicate: st.predicate, subjects: Array.isArray(st.subject) ? st.subject.length : 0 };
  } catch {
    return undefined;
  }
}

/**
 * Checks one receipt of `hostname`: signed by the key the row names, that key one of the host's
 * registered keys (its key id the sha256 of its SPKI DER), the statement an in-toto Statement v1 for
 * that host with the row's counter.
 */
export function verifyInstallReceipt(hostname: string, r: InstallReceipt, keys: readonly InstallReceiptKey[]): ReceiptCheck {
  const fail = (problem: string, predicate?: InstallReceiptPredicate, subjects = 0): ReceiptCheck => ({
    ok: false,
    problem,
    subjects,
    ...(predicate ? { predicate } : {}),
  });
  const key = keys.find((k) => k.keyId === r.keyId);
  if (!key) return fail(`key ${r.keyId.slice(0, 16)} is not a registered key of ${hostname}`);
  let pub;
  try {
    pub = createPublicKey(key.publicKey);
  } catch (e) {
    return fail(`registered key unreadable: ${(e as Error).message}`);
  }
  const keyId = createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
  if (keyId !== key.keyId) return fail("registered key does not match its key id");
  let env: { payloadType?: string; payload?: string; signatures?: { keyid?: string; sig?: string }[] };
  try {
    env = JSON.parse(r.envelope) as typeof env;
  } catch {
    return fail("envelope is not JSON");
  }
  if (env.payloadType !== PAYLOAD_TYPE || typeof env.payload !== "string" || !Array.isArray(env.signatures)) return fail("not a DSSE in-toto envelope");
  const body = Buffer.from(env.payload, "base64");
  const sigs = env.signatures.filter((s) => s?.keyid === keyId && typeof s.sig === "string");
  const read = readInstallReceipt(r);
  if (!sigs.some((s) => verify(null, pae(env.payloadType!, body), pub, Buffer.from(s.sig!, "base64"))))
    return fail("signature does not verify", read?.predicate, read?.subjects);
  let st: { _type?: string; predicate?: InstallReceiptPredicate; subject?: unknown[] };
  try {
    st = JSON.parse(body.toString("utf8")) as typeof st;
  } catch {
    return fail("payload is not JSON");
  }
  const p = st.predicate;
  const subjects = Array.isArray(st.subject) ? st.subject.length : 0;
  if (st._type !== STATEMENT_TYPE || !p) return fail("not an in-toto Statement v1", p, subjects);
  if (p.host !== hostname) return fail(`statement names host ${p.host}`, p, subjects);
  if (p.counter !== r.counter) return fail(`statement counter ${p.counter} differs from the row's ${r.counter}`, p, subjects);
  return { ok: true, problem: "", predicate: p, subjects };
}
