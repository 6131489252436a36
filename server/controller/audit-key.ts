/**
 * The controller's audit checkpoint key: Ed25519, made at first start in
 * `<data-dir>/signing/audit-checkpoint-key.pem` (PKCS#8 PEM, 0600; the directory 0700). Each
 * controller of a pair has its own; each registers its public half in the shared store with the
 * first checkpoint it signs (table audit_keys), so either member verifies the other's checkpoints.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { auditKeyId, type AuditSigner } from "../domain/auth/index.js";
import { SIGNING_DIR } from "./local-signing-key.js";

/** The key file, in the data dir's signing/ directory. */
export const AUDIT_KEY_FILE = "audit-checkpoint-key.pem";

/** The signer over a private key (its key record dated `createdAt`). */
export function auditSignerOf(privateKey: KeyObject, createdAt: string): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  return {
    key: { keyId: auditKeyId(publicKey), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), createdAt },
    sign: (message) => sign(null, message, privateKey).toString("base64"),
  };
}

/** Reads the key file; undefined when there is none. @throws when it holds no Ed25519 private key. */
export async function readAuditKey(dataDir: string): Promise<{ file: string; signer: AuditSigner } | undefined> {
  const file = path.join(dataDir, SIGNING_DIR, AUDIT_KEY_FILE);
  let pem: Buffer;
  try {
    pem = await fsp.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`${file} does not hold an Ed25519 private key`);
  const made = (await fsp.stat(file)).mtime.toISOString();
  return { file, signer: auditSignerOf(key, made) };
}

/**
 * Makes sure the data dir holds the checkpoint key (generating it at first start; an existing
 * file is never replaced, its mode tightened to 0600); its signer and whether this call made it.
 */
export async function ensureAuditKey(dataDir: string): Promise<{ file: string; signer: AuditSigner; created: boolean }> {
  const dir = path.join(dataDir, SIGNING_DIR);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readAuditKey(dataDir);
  if (existing) {
    await fsp.chmod(existing.file, 0o600);
    return { ...existing, created: false };
  }
  const file = path.join(dir, AUDIT_KEY_FILE);
  const { privateKey } = generateKeyPairSync("ed25519");
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 });
  await fsp.chmod(tmp, 0o600);
  await fsp.rename(tmp, file);
  return { file, signer: auditSignerOf(privateKey, new Date().toISOString()), created: true };
}
