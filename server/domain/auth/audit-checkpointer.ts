/**
 * Signs audit checkpoints: every `everyRows` rows appended through this controller's AuditLog, and
 * on the controller's timer (every `--audit-checkpoint-seconds`), when rows were added since the
 * last checkpoint. A checkpoint covers every row stored, from the first ever written (seq 1).
 */
import { DomainError } from "../errors.js";
import { MerkleFrontier, auditRowHash, type AuditChainStore, type AuditCheckpoint, type AuditSigner, checkpointMessage } from "./audit-chain.js";

/** How many rows one store call reads. */
const PAGE = 1000;

/**
 * INVARIANTS: runs are serialised (one at a time, in call order); a run signs only rows it has
 * checked (each row has the next seq, its predecessor's hash and the hash of its content), so a
 * tampered log is never covered by a new signature; the store keeps at most one checkpoint per
 * tree size and never a smaller one after a larger (a second controller racing on the same store
 * loses with `false`).
 */
export class AuditCheckpointer {
  private queue: Promise<unknown> = Promise.resolve();
  private appended = 0;

  constructor(
    private readonly store: AuditChainStore,
    private readonly signer: AuditSigner,
    private readonly everyRows: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Counts one appended row; every `everyRows` of them, a checkpoint is signed (errors go to `onError`). */
  noteAppended(onError: (e: unknown) => void): void {
    if (++this.appended < this.everyRows) return;
    this.appended = 0;
    this.checkpoint().catch(onError);
  }

  /**
   * Signs and stores a checkpoint of every row stored, unless the newest checkpoint already
   * covers them all; the checkpoint written, or undefined.
   * @throws DomainError failed-precondition when the rows after the last checkpoint do not chain.
   */
  checkpoint(): Promise<AuditCheckpoint | undefined> {
    const run = this.queue.then(() => this.run());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(): Promise<AuditCheckpoint | undefined> {
    const [latest, anchor] = await Promise.all([this.store.latestAuditCheckpoint(), this.store.auditChainAnchor()]);
    // Go on from the newest checkpoint, or from where pruning left the chain if that is further on.
    const fromCheckpoint = latest && (!anchor || latest.treeSize >= anchor.seq);
    const base = fromCheckpoint
      ? MerkleFrontier.from(latest.treeSize, latest.frontier)
      : anchor
        ? MerkleFrontier.from(anchor.seq, anchor.frontier)
        : MerkleFrontier.empty();
    if (!base) throw new DomainError("failed-precondition", "audit chain: the stored tree edge is malformed; not checkpointed", { reason: "AUDIT_CHAIN_BROKEN" });
    const start = base.size;
    let prevHash: string | undefined;
    for (;;) {
      const page = await this.store.listAuditChainBySeq(base.size, PAGE);
      for (const r of page) {
        const broken =
          r.seq !== base.size + 1
            ? `row ${base.size + 1} is missing`
            : prevHash !== undefined && r.prevHash !== prevHash
              ? `row ${r.seq} does not chain to row ${r.seq - 1}`
              : auditRowHash(r.prevHash, r.seq, r) !== r.hash
                ? `row ${r.seq} (id ${r.id}) does not match its hash`
                : undefined;
        if (broken)
          throw new DomainError("failed-precondition", `audit chain broken: ${broken}; not checkpointed (run sw-patch audit-verify)`, { reason: "AUDIT_CHAIN_BROKEN" });
        base.push(r.hash);
        prevHash = r.hash;
      }
      if (page.length < PAGE) break;
    }
    if (base.size === start) return undefined;
    const unsigned = { treeSize: base.size, rootHash: base.root(), time: this.now().toISOString(), keyId: this.signer.key.keyId };
    const c: AuditCheckpoint = { ...unsigned, signature: this.signer.sign(checkpointMessage(unsigned)), frontier: base.toJSON() };
    return (await this.store.insertAuditCheckpoint(c, this.signer.key)) ? c : undefined;
  }
}
