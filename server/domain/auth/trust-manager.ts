/**
 * The patch trust store as the verifier sees it: the keys configured with `--trust` (files, fixed
 * for the process lifetime) followed by the keys admins added at run time (persisted).
 */
import { createHash, type KeyObject } from "node:crypto";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { publicKeyFromPem, type TrustStore, type TrustedKey } from "../patchfile/signature.js";
import { Mutex } from "../../lib/mutex.js";

/** A key stored by AddTrustedKey. */
export interface StoredTrustedKey {
  label: string;
  /** The PEM text as given (certificate or public key). */
  pem: string;
  /** sha256 of the key's DER SubjectPublicKeyInfo, lowercase hex. */
  fingerprint: string;
  /** ISO-8601. */
  createdAt: string;
}

/** What the domain needs from storage (implemented by server/storage/auth-store.ts). */
export interface TrustedKeyStore {
  /** In insertion order. */
  listTrustedKeys(): Promise<StoredTrustedKey[]>;
  insertTrustedKey(key: StoredTrustedKey): Promise<void>;
  /** False when no key has this label. */
  deleteTrustedKey(label: string): Promise<boolean>;
}

/** A trusted key as listed to admins. */
export interface TrustedKeyInfo {
  label: string;
  pem: string;
  fingerprint: string;
  /** "config" for `--trust` files, "store" for keys added with AddTrustedKey. */
  origin: "config" | "store";
}

const LABEL_RE = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_PEM_BYTES = 64 * 1024;

/** sha256 over the DER SubjectPublicKeyInfo: the same for a certificate and its bare public key. */
export function keyFingerprint(key: KeyObject): string {
  return createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/**
 * INVARIANTS: `stored` mirrors the store's rows after `init()`; add/remove run one at a time
 * (mutex) and update the store first, then the mirror, so `current()` never shows a key the store
 * does not hold. `current()` returns a fresh snapshot, so a verification in progress keeps the set
 * it started with.
 */
export class TrustManager {
  private readonly store: TrustedKeyStore;
  private readonly configured: readonly TrustedKey[];
  private stored: { info: StoredTrustedKey; key: KeyObject }[] = [];
  private readonly mutex = new Mutex();
  private now: () => Date;

  /** @param opts.configured the store loaded from `--trust` files (loadTrustStore). */
  constructor(opts: { store: TrustedKeyStore; configured: TrustStore; now?: () => Date }) {
    this.store = opts.store;
    this.configured = [...opts.configured.keys];
    this.now = opts.now ?? (() => new Date());
  }

  /** Loads the stored keys. Call once before `current()`. */
  async init(): Promise<void> {
    const rows = await this.store.listTrustedKeys();
    this.stored = rows.map((info) => ({ info, key: publicKeyFromPem(info.pem, `stored trusted key ${info.label}`) }));
  }

  /** The keys a patch verifier should accept now: configured files first, then stored keys. */
  current(): TrustStore {
    return { keys: [...this.configured, ...this.stored.map((s) => ({ label: s.info.label, key: s.key }))] };
  }

  /** Every trusted key with its PEM and fingerprint. */
  list(): TrustedKeyInfo[] {
    return [
      ...this.configured.map((k) => ({
        label: k.label,
        pem: k.key.export({ type: "spki", format: "pem" }).toString(),
        fingerprint: keyFingerprint(k.key),
        origin: "config" as const,
      })),
      ...this.stored.map((s) => ({ label: s.info.label, pem: s.info.pem, fingerprint: s.info.fingerprint, origin: "store" as const })),
    ];
  }

  /**
   * Adds and persists a key (X.509 certificate, SPKI or PKCS#1 RSA public key PEM).
   * @throws DomainError invalid-argument for a bad label or PEM (private keys are refused);
   *   already-exists when the label or the same key is already trusted.
   */
  add(label: string, pem: string): Promise<TrustedKeyInfo> {
    return this.mutex.run(async () => {
      if (!LABEL_RE.test(label)) throw invalidArgument(`label: expected 1-64 of A-Z a-z 0-9 . _ -, got "${label}"`);
      if (Buffer.byteLength(pem) > MAX_PEM_BYTES) throw invalidArgument(`pem: larger than ${MAX_PEM_BYTES} bytes`);
      const key = publicKeyFromPem(pem, `for label ${label}`);
      const fingerprint = keyFingerprint(key);
      const all = this.list();
      if (all.some((k) => k.label === label)) throw alreadyExists(`Trusted key ${label} already exists`, { reason: "TRUSTED_KEY_EXISTS" });
      const same = all.find((k) => k.fingerprint === fingerprint);
      if (same) throw alreadyExists(`This key is already trusted as ${same.label}`, { reason: "TRUSTED_KEY_EXISTS" });
      const info: StoredTrustedKey = { label, pem: pem.trim() + "\n", fingerprint, createdAt: this.now().toISOString() };
      await this.store.insertTrustedKey(info);
      this.stored = [...this.stored, { info, key }];
      return { label, pem: info.pem, fingerprint, origin: "store" };
    });
  }

  /**
   * Removes a stored key; patches already verified with it stay in place.
   * @throws DomainError failed-precondition for a `--trust` key (remove the flag instead);
   *   not-found when no key has this label.
   */
  remove(label: string): Promise<void> {
    return this.mutex.run(async () => {
      if (this.configured.some((k) => k.label === label)) {
        throw failedPrecondition(`Trusted key ${label} comes from --trust; remove it from the controller's command line`, {
          reason: "TRUSTED_KEY_CONFIGURED",
        });
      }
      if (!(await this.store.deleteTrustedKey(label))) throw notFound(`Trusted key ${label} not found`, { reason: "TRUSTED_KEY_NOT_FOUND" });
      this.stored = this.stored.filter((s) => s.info.label !== label);
    });
  }
}
