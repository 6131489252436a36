/**
 * The trust store a controller starts with: the `--trust` files, then (unless
 * `--no-default-trust`) its local signing key's certificate (`local`) and the shipped StarlingX
 * formal certificate (`formal`). A default whose key or label a `--trust` file already has is left
 * out. The StarlingX dev certificate is never a default: its private key is public.
 */
import * as path from "node:path";
import { keyFingerprint } from "../domain/auth/trust-manager.js";
import { loadTrustStore, type TrustStore, type TrustedKey } from "../domain/patchfile/index.js";
import { ensureLocalSigningKey, LOCAL_TRUST_LABEL, type LocalSigningKey } from "./local-signing-key.js";

/** sha256 of the SubjectPublicKeyInfo of the StarlingX dev certificate, whose private key is public. */
export const STARLINGX_DEV_KEY_FINGERPRINT = "6830af2270a0745263c6f963dbe6511322a29296f84b6ac96a2fa6f4df091a48";

/** The repository / installed package root (this file is server/controller or dist/server/controller). */
const PACKAGE_ROOT = path.basename(path.resolve(__dirname, "../..")) === "dist" ? path.resolve(__dirname, "../../..") : path.resolve(__dirname, "../..");

/** The StarlingX formal certificate shipped with the package. */
export const FORMAL_CERTIFICATE = path.join(PACKAGE_ROOT, "certs/starlingx-formal-certificate.pem");

/** What {@link startupTrust} decided. */
export interface StartupTrust {
  store: TrustStore;
  /** The local signing key (undefined with `--no-default-trust`). */
  localKey: LocalSigningKey | undefined;
}

/**
 * Builds the configured trust store for a start.
 * @param explicit `--trust` specs (`PATH[:label]`).
 * @param defaults false with `--no-default-trust`.
 */
export async function startupTrust(o: { dataDir: string; explicit: readonly string[]; defaults: boolean }): Promise<StartupTrust> {
  const explicit = await loadTrustStore([...o.explicit]);
  if (!o.defaults) return { store: explicit, localKey: undefined };
  const localKey = await ensureLocalSigningKey(o.dataDir);
  const defaults = await loadTrustStore([`${localKey.certFile}:${LOCAL_TRUST_LABEL}`, `${FORMAL_CERTIFICATE}:formal`]);
  const labels = new Set(explicit.keys.map((k) => k.label));
  const prints = new Set(explicit.keys.map((k) => keyFingerprint(k.key)));
  const added: TrustedKey[] = defaults.keys.filter((k) => !labels.has(k.label) && !prints.has(keyFingerprint(k.key)));
  return { store: { keys: [...explicit.keys, ...added] }, localKey };
}

/** Labels of the trusted keys that are the StarlingX dev key (private half public). */
export function publicPrivateKeyLabels(keys: readonly { label: string; fingerprint: string }[]): string[] {
  return keys.filter((k) => k.fingerprint === STARLINGX_DEV_KEY_FINGERPRINT).map((k) => k.label);
}
