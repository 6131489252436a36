/**
 * The tamper-evident audit log (docs/security.md, "Tamper-evident audit log"): every audit row
 * carries the hash of the row before it (server/lib/audit-hash.ts), and the controller signs
 * checkpoints (tree size, RFC 6962 Merkle root over the row hashes, time, key id) with its
 * Ed25519 key. This file has the port the stores implement, the checkpoint's signed bytes and the
 * verifier that walks the chain and the checkpoints (`sw-patch audit-verify`).
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from "node:crypto";
import { AUDIT_GENESIS_HASH, MerkleFrontier, auditRowHash } from "../../lib/audit-hash.js";
import type { AuditEntry } from "./audit-log.js";

export { AUDIT_GENESIS_HASH, AUDIT_ROW_DOMAIN, MerkleFrontier, auditRowHash, merkleRoot } from "../../lib/audit-hash.js";

/** One audit row with its place in the chain. */
export interface AuditChainRow extends AuditEntry {
  /** 1, 2, 3... in append order, without gaps (the leaf index + 1 in the Merkle tree). */
  seq: number;
  /** `hash` of the row of seq - 1 (AUDIT_GENESIS_HASH for seq 1). */
  prevHash: string;
  /** auditRowHash(prevHash, seq, fields). */
  hash: string;
}

/** Where the chain goes on after retention pruned its start: the last pruned row and the tree's edge there. */
export interface AuditChainAnchor {
  seq: number;
  hash: string;
  /** MerkleFrontier of the first `seq` leaves (hex nodes). */
  frontier: string[];
}

/** A signed checkpoint of the first `treeSize` rows. */
export interface AuditCheckpoint {
  treeSize: number;
  /** RFC 6962 tree hash over the row hashes of seq 1..treeSize, hex. */
  rootHash: string;
  /** ISO-8601, when it was signed. */
  time: string;
  keyId: string;
  /** Ed25519 over {@link checkpointMessage}, base64. */
  signature: string;
  /** The tree's edge at treeSize (hex nodes): where the next checkpoint goes on from. Not signed. */
  frontier: string[];
}

/** A checkpoint key's public half, registered in the store by the controller that signs with it. */
export interface AuditKey {
  keyId: string;
  /** SPKI PEM of the Ed25519 public key. */
  publicKeyPem: string;
  createdAt: string;
}

/** What the chain needs from storage, beyond AuditStore (whose appendAudit chains each row). */
export interface AuditChainStore {
  /** Rows with id > afterId, ascending by id, at most `limit`. */
  listAuditChain(afterId: number, limit: number): Promise<AuditChainRow[]>;
  /** Rows with seq > afterSeq, ascending by seq, at most `limit`. */
  listAuditChainBySeq(afterSeq: number, limit: number): Promise<AuditChainRow[]>;
  /** The id of the row with this seq, if one has it. */
  auditRowIdBySeq(seq: number): Promise<number | undefined>;
  /** Where pruning left the chain; undefined when nothing was ever pruned. */
  auditChainAnchor(): Promise<AuditChainAnchor | undefined>;
  /** Checkpoints with treeSize > afterSize, ascending, at most `limit`. */
  listAuditCheckpoints(afterSize: number, limit: number): Promise<AuditCheckpoint[]>;
  latestAuditCheckpoint(): Promise<AuditCheckpoint | undefined>;
  /**
   * Stores a checkpoint (and registers its key, if new) unless one of the same or a larger tree
   * size is already stored; true when stored.
   */
  insertAuditCheckpoint(c: AuditCheckpoint, key: AuditKey): Promise<boolean>;
  listAuditKeys(): Promise<AuditKey[]>;
}

/** The bytes a checkpoint signature covers. */
export function checkpointMessage(c: Pick<AuditCheckpoint, "treeSize" | "rootHash" | "time" | "keyId">): Buffer {
  return Buffer.from(`swpatch-audit-checkpoint-v1\n${c.treeSize}\n${c.rootHash}\n${c.time}\n${c.keyId}\n`, "utf8");
}

/** A key's id: the first 16 hex digits of sha256 over its DER SubjectPublicKeyInfo. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

/** The checkpoint signer: the controller's Ed25519 key (server/controller/audit-key.ts). */
export interface AuditSigner {
  readonly key: AuditKey;
  /** Ed25519 signature of `message`, base64. */
  sign(message: Buffer): string;
}

/** True when `c` carries a valid signature by `publicKey`. */
export function checkpointSignatureValid(c: AuditCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verifySignature(null, checkpointMessage(c), publicKey, Buffer.from(c.signature, "base64"));
  } catch {
    return false;
  }
}

/** The outcome of {@link verifyAuditChain}. */
export interface AuditVerifyResult {
  ok: boolean;
  /** Rows walked (all that are stored, when ok). */
  rows: number;
  /** Checkpoints whose signature verified (and root, where its rows are still stored). */
  checkpoints: number;
  /** The first row that does not verify (absent when the failure is not one row's). */
  badRowId?: number;
  badSeq?: number;
  /** Why, in words. */
  reason?: string;
  /** The newest checkpoint stored. */
  latest?: AuditCheckpoint;
  /** Rows pruned by retention before the first stored one (their seq). */
  prunedThrough: number;
}

/** How many rows and checkpoints one store call reads. */
const PAGE = 1000;

/**
 * Walks every stored row in id order and every checkpoint: each row must have the next seq, the
 * previous row's hash as its prev_hash, and the hash of its own content; each checkpoint must be
 * signed by a key `keyFor` knows and, where its rows are still stored, have the Merkle root of
 * those rows; a checkpoint larger than the log means its tail was cut. Stops at the first problem.
 * @param keyFor the public key of a key id whose checkpoints count (undefined: not trusted).
 */
export async function verifyAuditChain(store: AuditChainStore, keyFor: (keyId: string) => KeyObject | undefined): Promise<AuditVerifyResult> {
  const anchor = await store.auditChainAnchor();
  const prunedThrough = anchor?.seq ?? 0;
  const checkpoints: AuditCheckpoint[] = [];
  for (let after = 0; ;) {
    const page = await store.listAuditCheckpoints(after, PAGE);
    checkpoints.push(...page);
    if (page.length < PAGE) break;
    after = page.at(-1)!.treeSize;
  }
  const latest = checkpoints.at(-1);
  let rows = 0;
  let verified = 0;
  const fail = (reason: string, row?: { id: number; seq: number }): AuditVerifyResult => ({
    ok: false,
    rows,
    checkpoints: verified,
    reason,
    ...(row ? { badRowId: row.id, badSeq: row.seq } : {}),
    ...(latest ? { latest } : {}),
    prunedThrough,
  });
  // Every signature first: a forged checkpoint is named as such, whatever the rows say.
  for (const c of checkpoints) {
    const key = keyFor(c.keyId);
    if (!key) return fail(`checkpoint of ${c.treeSize} rows (${c.time}) is signed by key ${c.keyId}, which is not trusted`);
    if (!checkpointSignatureValid(c, key)) return fail(`checkpoint of ${c.treeSize} rows (${c.time}): its signature does not verify (the checkpoint was altered)`);
  }
  const frontier = anchor ? MerkleFrontier.from(anchor.seq, anchor.frontier) : MerkleFrontier.empty();
  if (!frontier) return fail(`the pruning anchor (rows up to ${anchor!.seq} pruned) is malformed`);
  // Checkpoints of pruned rows only: their signatures verified; their rows are gone.
  let next = checkpoints.findIndex((c) => c.treeSize >= frontier.size);
  if (next < 0) next = checkpoints.length;
  verified = next;
  /** Checks the checkpoints of exactly the rows walked so far; the failure, if one does not match. */
  const settle = (row?: { id: number; seq: number }): AuditVerifyResult | undefined => {
    while (next < checkpoints.length && checkpoints[next]!.treeSize === frontier.size) {
      const c = checkpoints[next]!;
      if (c.rootHash !== frontier.root())
        return row
          ? fail(`the rows up to it do not have the Merkle root of the checkpoint of ${c.treeSize} rows (${c.time}): rows up to ${c.treeSize} were rewritten`, row)
          : fail(
              `the pruning anchor (rows up to ${frontier.size} pruned) does not have the Merkle root of the checkpoint of ${c.treeSize} rows (${c.time}): it was altered`,
            );
      verified++;
      next++;
    }
    return undefined;
  };
  const atAnchor = settle();
  if (atAnchor) return atAnchor;
  let prevHash = anchor?.hash ?? AUDIT_GENESIS_HASH;
  let prevId: number | undefined;
  for (let afterId = 0; ;) {
    const page = await store.listAuditChain(afterId, PAGE);
    for (const r of page) {
      const want = frontier.size + 1;
      if (r.seq !== want) {
        if (r.seq > want) {
          const at = await store.auditRowIdBySeq(want);
          return fail(
            at === undefined
              ? `row ${want} of the chain is missing before it (deleted): its seq is ${r.seq}, ${want} was expected`
              : `rows are out of order: its seq is ${r.seq}, but row ${want} of the chain comes later (id ${at}): rows were reordered`,
            r,
          );
        }
        return fail(`its seq is ${r.seq}, but row ${r.seq} of the chain came before it: rows were reordered or copied`, r);
      }
      if (r.prevHash !== prevHash) {
        return fail(
          prevId === undefined
            ? `its prev_hash is not the hash of the row before it (${anchor ? `the last pruned row, ${anchor.seq}` : "the genesis marker"}): rows before it were deleted or changed`
            : `its prev_hash is not the hash of the row before it (id ${prevId}): that row was changed or a row was deleted`,
          r,
        );
      }
      if (auditRowHash(r.prevHash, r.seq, r) !== r.hash) return fail("its hash does not match its content: the row was edited", r);
      frontier.push(r.hash);
      prevHash = r.hash;
      prevId = r.id;
      rows++;
      const bad = settle(r);
      if (bad) return bad;
    }
    if (page.length < PAGE) break;
    afterId = page.at(-1)!.id;
  }
  if (next < checkpoints.length) {
    const c = checkpoints[next]!;
    return fail(
      `the log ends at row ${frontier.size} of the chain, but the checkpoint of ${c.treeSize} rows (${c.time}) covers more: rows ${frontier.size + 1} to ${c.treeSize} were deleted (the tail was cut)`,
    );
  }
  return { ok: true, rows, checkpoints: verified, ...(latest ? { latest } : {}), prunedThrough };
}

/** A PEM public key as a KeyObject, or undefined if it is not one. */
export function publicKeyOf(pem: string): KeyObject | undefined {
  try {
    return createPublicKey(pem);
  } catch {
    return undefined;
  }
}

/** A verification with the keys it trusted. */
export interface AuditLogVerification extends AuditVerifyResult {
  /** Every key registered in the store. */
  registeredKeys: AuditKey[];
}

/**
 * {@link verifyAuditChain} with the keys a controller trusts: `trustedKeyIds` when given (each must
 * be `ownKey`, an `extraKeys` one or one registered in the store), else `ownKey`, `extraKeys` and
 * every key registered in the store. (A key registered by whoever could write the database proves
 * nothing: pin the ids, as `sw-patch audit-verify --key-id` does, to rule that out.)
 */
export async function verifyAuditLog(
  store: AuditChainStore,
  opts: { ownKey?: AuditKey; extraKeys?: readonly AuditKey[]; trustedKeyIds?: readonly string[] } = {},
): Promise<AuditLogVerification> {
  const registeredKeys = await store.listAuditKeys();
  const known = new Map<string, KeyObject>();
  for (const k of [...registeredKeys, ...(opts.extraKeys ?? []), ...(opts.ownKey ? [opts.ownKey] : [])]) {
    const key = publicKeyOf(k.publicKeyPem);
    // A registered key whose id is not its own key's is no key of that id.
    if (key && auditKeyId(key) === k.keyId) known.set(k.keyId, key);
  }
  const pinned = opts.trustedKeyIds?.length ? new Set(opts.trustedKeyIds) : undefined;
  const result = await verifyAuditChain(store, (id) => (pinned && !pinned.has(id) ? undefined : known.get(id)));
  return { ...result, registeredKeys };
}

/** The one-line verdict `audit-verify` prints: "OK (N rows, M checkpoints)" or what failed first. */
export function auditVerdict(r: Pick<AuditVerifyResult, "ok" | "rows" | "checkpoints" | "badRowId" | "badSeq" | "reason">): string {
  if (r.ok) return `OK (${r.rows} rows, ${r.checkpoints} checkpoints)`;
  return r.badRowId ? `FAILED: row id ${r.badRowId} (seq ${r.badSeq}): ${r.reason}` : `FAILED: ${r.reason}`;
}
