/** The in-memory TrustRootStore (issue 21) over the memory store's disk. */
import { failedPrecondition } from "../../server/domain/errors.js";
import type { StoredTrustRoot, TrustRootStore } from "../../server/domain/auth/trust-root-manager.js";
import type { Disk } from "./memory-store.js";

/** Rows in `disk.d.trustRoots`, in version order. */
export class MemoryTrustRootStore implements TrustRootStore {
  constructor(private readonly disk: { d: Disk }) {}

  async latestTrustRoot(): Promise<StoredTrustRoot | undefined> {
    const r = this.disk.d.trustRoots.at(-1);
    return r ? { ...r } : undefined;
  }

  async insertTrustRoot(root: StoredTrustRoot, previous: number | null): Promise<void> {
    const latest = this.disk.d.trustRoots.at(-1)?.version ?? null;
    if (latest !== previous)
      throw failedPrecondition(`trust root: version ${latest ?? "none"} is installed, not ${previous ?? "none"}`, { reason: "TRUST_ROOT_VERSION" });
    if (root.version <= (latest ?? 0)) throw new Error(`refused: trust root version ${root.version} exists`);
    this.disk.d.trustRoots.push({ ...root });
  }
}
