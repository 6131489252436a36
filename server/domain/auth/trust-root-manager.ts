/**
 * The controller's root of trust (issue 21): the newest installed root document, which decides
 * which keys must sign uploaded patches (`signature.dsse`) and how many.
 */
import { failedPrecondition } from "../errors.js";
import { Mutex } from "../../lib/mutex.js";
import type { PatchSignerPolicy } from "../patchfile/patch-dsse.js";
import { isExpired, parseTrustRoot, roleKeys, rootSigners, verifyInitialRoot, verifyRotation, type TrustRootDoc } from "./trust-root.js";

/** One installed root document. */
export interface StoredTrustRoot {
  version: number;
  /** The serialised envelope. */
  document: string;
  /** sha256 of `document`, lowercase hex. */
  sha256: string;
  /** ISO-8601. */
  installedAt: string;
  /** Token id (or actor) that installed it. */
  installedBy: string;
}

/** What the domain needs from storage (server/storage/sqlite/trust-root-store.ts, both stores). */
export interface TrustRootStore {
  /** The installed root with the highest version, if any. */
  latestTrustRoot(): Promise<StoredTrustRoot | undefined>;
  /**
   * Inserts `root` in one transaction if the highest installed version is `previous` (null: none
   * installed); else rejects with DomainError failed-precondition (reason TRUST_ROOT_VERSION) and
   * writes nothing.
   */
  insertTrustRoot(root: StoredTrustRoot, previous: number | null): Promise<void>;
}

/** The installed root as shown to admins. */
export interface TrustRootInfo {
  version: number;
  expires: string;
  expired: boolean;
  document: string;
  sha256: string;
  installedAt: string;
  installedBy: string;
  roles: { name: string; keyids: string[]; threshold: number }[];
  /** Key ids of the root keys whose signatures on this document verify. */
  signedBy: string[];
}

/**
 * INVARIANTS: `root` mirrors the store's newest row after `init()`; install and rotate run one at
 * a time (mutex), check against `root`, and write the store (which re-checks the version in its
 * transaction, so two controllers on one store cannot both install version N+1) before updating
 * `root`. `uploadPolicy()` reads `root` once, so an upload keeps the policy it started with.
 */
export class TrustRootManager {
  private root: { doc: TrustRootDoc; stored: StoredTrustRoot } | null = null;
  private readonly mutex = new Mutex();
  private readonly now: () => Date;

  constructor(
    private readonly store: TrustRootStore,
    opts: { now?: () => Date } = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /** Loads the newest installed root. */
  async init(): Promise<void> {
    const s = await this.store.latestTrustRoot();
    this.root = s ? { doc: parseTrustRoot(s.document), stored: s } : null;
  }

  /** The installed root, or null when none is (uploads then use the trust store as before). */
  show(): TrustRootInfo | null {
    const r = this.root;
    if (!r) return null;
    const b = r.doc.body;
    return {
      version: b.version,
      expires: b.expires,
      expired: isExpired(r.doc, this.now()),
      document: r.stored.document,
      sha256: r.stored.sha256,
      installedAt: r.stored.installedAt,
      installedBy: r.stored.installedBy,
      roles: (["root", "patch-signer"] as const).map((name) => ({ name, keyids: [...b.roles[name].keyids], threshold: b.roles[name].threshold })),
      signedBy: rootSigners(r.doc, r.doc),
    };
  }

  /**
   * The patch-signer policy uploads must meet, or undefined without a root.
   * @throws DomainError failed-precondition (reason TRUST_ROOT_EXPIRED) once the root has expired.
   */
  uploadPolicy(): PatchSignerPolicy | undefined {
    const r = this.root;
    if (!r) return undefined;
    if (isExpired(r.doc, this.now())) {
      throw failedPrecondition(
        `The root of trust (version ${r.doc.body.version}) expired at ${r.doc.body.expires}: no patch can be uploaded until an admin installs version ${r.doc.body.version + 1} (sw-patch trust-root rotate)`,
        { reason: "TRUST_ROOT_EXPIRED" },
      );
    }
    return { keys: roleKeys(r.doc, "patch-signer"), threshold: r.doc.body.roles["patch-signer"].threshold, rootVersion: r.doc.body.version };
  }

  /**
   * Installs the first root: refused when one is installed (use `rotate`).
   * @throws DomainError invalid-argument for a malformed document; failed-precondition when a
   *   root exists (TRUST_ROOT_EXISTS), too few of its root keys signed it, or it has expired.
   */
  install(text: string, installedBy: string): Promise<TrustRootInfo> {
    return this.mutex.run(async () => {
      const doc = parseTrustRoot(text);
      if (this.root) {
        throw failedPrecondition(`A root of trust is installed (version ${this.root.doc.body.version}): replace it with sw-patch trust-root rotate`, {
          reason: "TRUST_ROOT_EXISTS",
        });
      }
      verifyInitialRoot(doc, this.now());
      return this.save(doc, null, installedBy);
    });
  }

  /**
   * Replaces root N by N+1 (see verifyRotation).
   * @throws DomainError failed-precondition without a root (TRUST_ROOT_MISSING), for another
   *   version, too few signatures, or an expired document.
   */
  rotate(text: string, installedBy: string): Promise<TrustRootInfo> {
    return this.mutex.run(async () => {
      const doc = parseTrustRoot(text);
      const cur = this.root;
      if (!cur) throw failedPrecondition("No root of trust is installed: install version 1 with sw-patch trust-root set", { reason: "TRUST_ROOT_MISSING" });
      verifyRotation(cur.doc, doc, this.now());
      return this.save(doc, cur.doc.body.version, installedBy);
    });
  }

  private async save(doc: TrustRootDoc, previous: number | null, installedBy: string): Promise<TrustRootInfo> {
    const stored: StoredTrustRoot = { version: doc.body.version, document: doc.text, sha256: doc.sha256, installedAt: this.now().toISOString(), installedBy };
    await this.store.insertTrustRoot(stored, previous);
    this.root = { doc, stored };
    return this.show()!;
  }
}
