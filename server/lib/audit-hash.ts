/**
 * The hashes of the tamper-evident audit log (docs/security.md, "Tamper-evident audit log"): the
 * chain hash of one row, and the RFC 6962 Merkle tree over the row hashes that checkpoints sign.
 * A leaf utility (no project imports): the domain (verifier, checkpointer) and the stores (which
 * chain rows as they insert them) compute the same bytes from here.
 */
import { createHash } from "node:crypto";

/** Domain separation of a row hash: no other sw-patch hash starts with these bytes. */
export const AUDIT_ROW_DOMAIN = "swpatch-audit-v1\0";
/** The predecessor of the first row ever written (seq 1): the genesis marker. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);

/** The fields a row hash covers, in this order (every field of a row but its id). */
export interface AuditHashedFields {
  time: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string;
}

function lengthPrefixed(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/**
 * sha256("swpatch-audit-v1\0" || lp(prevHash) || u64be(seq) || lp(time) || lp(actor) || lp(role) ||
 * lp(action) || lp(target) || lp(outcome) || lp(detail)), lowercase hex; lp(s) = u32be(byte length)
 * || UTF-8 bytes. Every field is length-prefixed, so no two different rows encode to the same bytes.
 */
export function auditRowHash(prevHash: string, seq: number, f: AuditHashedFields): string {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(seq));
  const h = createHash("sha256").update(AUDIT_ROW_DOMAIN).update(lengthPrefixed(prevHash)).update(n);
  for (const s of [f.time, f.actor, f.role, f.action, f.target, f.outcome, f.detail]) h.update(lengthPrefixed(s));
  return h.digest("hex");
}

const sha256 = (...parts: Buffer[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** RFC 6962 2.1: MTH({d}) = SHA-256(0x00 || d). */
export const merkleLeaf = (data: Buffer): Buffer => sha256(LEAF, data);
/** RFC 6962 2.1: SHA-256(0x01 || left || right). */
export const merkleNode = (left: Buffer, right: Buffer): Buffer => sha256(NODE, left, right);

/**
 * The RFC 6962 Merkle tree hash of `leaves` (each leaf's data: a row hash's 32 bytes), computed by
 * the definition (split at the largest power of two below n). For tests and small inputs; the
 * checkpointer and the verifier use {@link MerkleFrontier}.
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return merkleLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return merkleNode(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/**
 * The right edge of an append-only RFC 6962 tree: the roots of its perfect subtrees, largest
 * first (one per set bit of the size). Leaves are appended one at a time; `root()` is the tree
 * hash of everything appended so far. Serialisable (`nodes` as hex), so a store keeps the edge at
 * a checkpoint or at the pruning point and the tree goes on from there without the older leaves.
 * INVARIANTS: `nodes.length` is the number of set bits of `size`; nodes[i] is the root of the
 * i-th perfect subtree from the left.
 */
export class MerkleFrontier {
  private constructor(
    private n: number,
    private readonly nodes: Buffer[],
  ) {}

  /** The empty tree. */
  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** A stored edge; undefined when `nodes` cannot be the edge of a tree of `size` leaves. */
  static from(size: number, nodes: readonly string[]): MerkleFrontier | undefined {
    if (!Number.isSafeInteger(size) || size < 0 || nodes.length !== popcount(size) || !nodes.every((h) => /^[0-9a-f]{64}$/.test(h))) return undefined;
    return new MerkleFrontier(
      size,
      nodes.map((h) => Buffer.from(h, "hex")),
    );
  }

  get size(): number {
    return this.n;
  }

  /** Appends one leaf (its data: a row hash, hex). */
  push(rowHashHex: string): void {
    this.nodes.push(merkleLeaf(Buffer.from(rowHashHex, "hex")));
    // Merge equal-sized subtrees: one per trailing set bit of the old size.
    for (let s = this.n; s % 2 === 1; s = Math.floor(s / 2)) {
      const right = this.nodes.pop()!;
      const left = this.nodes.pop()!;
      this.nodes.push(merkleNode(left, right));
    }
    this.n++;
  }

  /** The tree hash of the leaves so far (hex); sha256 of nothing for the empty tree. */
  root(): string {
    if (!this.nodes.length) return sha256().toString("hex");
    let r = this.nodes[this.nodes.length - 1]!;
    for (let i = this.nodes.length - 2; i >= 0; i--) r = merkleNode(this.nodes[i]!, r);
    return r.toString("hex");
  }

  /** The edge as stored: the subtree roots, hex, largest first. */
  toJSON(): string[] {
    return this.nodes.map((b) => b.toString("hex"));
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.n, [...this.nodes]);
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) c += v % 2;
  return c;
}
