/**
 * Bearer token strings: `swp_<id>_<secret>` with a 16-hex-digit id (the lookup key, not secret)
 * and a 64-hex-digit secret (32 random bytes). Only sha256(secret bytes) is ever stored.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Matches a well-formed token; group 1 is the id, group 2 the secret. */
export const TOKEN_RE = /^swp_([0-9a-f]{16})_([0-9a-f]{64})$/;

/** A freshly generated token: the string shown once, its id and the hash to store. */
export interface GeneratedToken {
  id: string;
  token: string;
  /** sha256 of the 32 secret bytes, lowercase hex. */
  secretSha256: string;
}

/** Generates a new random token. */
export function generateToken(): GeneratedToken {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32);
  return { id, token: `swp_${id}_${secret.toString("hex")}`, secretSha256: hashSecret(secret) };
}

/** sha256 of the secret bytes, lowercase hex. */
export function hashSecret(secret: Uint8Array): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Splits a token string; null when it is not of the `swp_<id>_<secret>` form. */
export function parseToken(token: string): { id: string; secret: Buffer } | null {
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  return { id: m[1]!, secret: Buffer.from(m[2]!, "hex") };
}

/** Constant-time check of `secret` against a stored sha256 hex digest. */
export function secretMatches(secret: Uint8Array, storedSha256Hex: string): boolean {
  const want = Buffer.from(storedSha256Hex, "hex");
  const got = createHash("sha256").update(secret).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Matches a well-formed one-time enrolment token `swpe_<id>_<secret>` (same sizes as a bearer
 * token, a distinct prefix so neither is ever taken for the other); group 1 the id, group 2 the secret.
 */
export const ENROLL_TOKEN_RE = /^swpe_([0-9a-f]{16})_([0-9a-f]{64})$/;

/** Generates a new random enrolment token. */
export function generateEnrollToken(): GeneratedToken {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32);
  return { id, token: `swpe_${id}_${secret.toString("hex")}`, secretSha256: hashSecret(secret) };
}

/** Splits an enrolment token string; null when it is not of the `swpe_<id>_<secret>` form. */
export function parseEnrollToken(token: string): { id: string; secret: Buffer } | null {
  const m = ENROLL_TOKEN_RE.exec(token);
  if (!m) return null;
  return { id: m[1]!, secret: Buffer.from(m[2]!, "hex") };
}
