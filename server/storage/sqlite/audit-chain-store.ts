/**
 * The audit log's hash chain and checkpoints in SQL (migration 0012; the same statements on
 * PostgreSQL through pg-sql.ts): chained appends, pruning that keeps the chain's anchor, the
 * checkpoint and key tables, and the migration step that chains the rows written before it.
 * Everything here runs on the store's single writer (sqlite's BEGIN IMMEDIATE, PostgreSQL's
 * writer lock), so the tail read at an append is the tail the row is inserted after.
 */
import sqlite3 from "sqlite3";
import type { Reader, Tx } from "./db.js";
import { finalizeStatements, wrap } from "./statement-cache.js";
import type { AuditEntry } from "../../domain/auth/audit-log.js";
import type { AuditChainAnchor, AuditChainRow, AuditChainStore, AuditCheckpoint, AuditKey } from "../../domain/auth/audit-chain.js";
import { AUDIT_GENESIS_HASH, MerkleFrontier, auditRowHash } from "../../lib/audit-hash.js";

interface ChainRowDb {
  id: number;
  time: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

const ROW_COLUMNS = "id, time, actor, role, action, target, outcome, detail, seq, prev_hash, hash";
/** The columns of an AuditEntry (listAudit): the chain columns are not part of it. */
export const ENTRY_COLUMNS = "id, time, actor, role, action, target, outcome, detail";

function rowOf(r: ChainRowDb): AuditChainRow {
  return {
    id: Number(r.id),
    time: r.time,
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    detail: r.detail,
    seq: Number(r.seq),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** The last row's seq and hash (the last pruned one if none is left; genesis if none ever was). */
async function tail(q: Reader): Promise<{ seq: number; hash: string }> {
  const last = await q.get<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1");
  if (last) return { seq: Number(last.seq), hash: last.hash };
  const anchor = await q.get<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_chain_anchor WHERE id = 1");
  return anchor ? { seq: Number(anchor.seq), hash: anchor.hash } : { seq: 0, hash: AUDIT_GENESIS_HASH };
}

const INSERT_ROW = "INSERT INTO audit_log (time, actor, role, action, target, outcome, detail, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/** Appends `entries` in order after the chain's tail, inside the writer's transaction. */
export async function appendChained(tx: Tx, entries: readonly Omit<AuditEntry, "id">[]): Promise<void> {
  let { seq, hash } = await tail(tx);
  for (const e of entries) {
    seq++;
    const h = auditRowHash(hash, seq, e);
    tx.write(INSERT_ROW, [e.time, e.actor, e.role, e.action, e.target, e.outcome, e.detail, seq, hash, h]);
    hash = h;
  }
}

/**
 * Retention: deletes up to `max` of the oldest rows, as a prefix of the chain (in id order, up to
 * the first row whose time is not before `before`: a later row with an older time waits for the
 * rows before it), and moves the anchor to the last one deleted, with the tree's edge there.
 * Checkpoints of fewer rows than that go too (one of exactly that many stays: it verifies the
 * anchor). How many rows went.
 */
export async function pruneChained(tx: Tx, before: string, max: number): Promise<number> {
  const stop = await tx.get<{ id: number | null }>("SELECT MIN(id) AS id FROM audit_log WHERE time >= ?", [before]);
  const rows =
    stop?.id == null
      ? await tx.all<{ id: number; seq: number; hash: string }>("SELECT id, seq, hash FROM audit_log ORDER BY id LIMIT ?", [max])
      : await tx.all<{ id: number; seq: number; hash: string }>("SELECT id, seq, hash FROM audit_log WHERE id < ? ORDER BY id LIMIT ?", [stop.id, max]);
  if (!rows.length) return 0;
  const anchor = await readAnchor(tx);
  // A malformed anchor (tampering) starts a fresh edge: the verifier names the break either way.
  const edge = (anchor && MerkleFrontier.from(anchor.seq, anchor.frontier)) ?? MerkleFrontier.empty();
  for (const r of rows) edge.push(r.hash);
  const last = rows.at(-1)!;
  const lastSeq = Number(last.seq);
  await tx.run("DELETE FROM audit_log WHERE id <= ?", [last.id]);
  await tx.run(
    "INSERT INTO audit_chain_anchor (id, seq, hash, frontier) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, frontier = excluded.frontier",
    [lastSeq, last.hash, JSON.stringify(edge.toJSON())],
  );
  await tx.run("DELETE FROM audit_checkpoints WHERE tree_size < ?", [lastSeq]);
  return rows.length;
}

async function readAnchor(q: Reader): Promise<AuditChainAnchor | undefined> {
  const a = await q.get<{ seq: number; hash: string; frontier: string }>("SELECT seq, hash, frontier FROM audit_chain_anchor WHERE id = 1");
  return a && { seq: Number(a.seq), hash: a.hash, frontier: parseNodes(a.frontier) };
}

function parseNodes(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

interface CheckpointDb {
  tree_size: number;
  root_hash: string;
  time: string;
  key_id: string;
  signature: string;
  frontier: string;
}

const checkpointOf = (c: CheckpointDb): AuditCheckpoint => ({
  treeSize: Number(c.tree_size),
  rootHash: c.root_hash,
  time: c.time,
  keyId: c.key_id,
  signature: c.signature,
  frontier: parseNodes(c.frontier),
});

/** The reads of AuditChainStore over a Reader (committed state). */
export function chainReads(q: Reader) {
  return {
    async listAuditChain(afterId: number, limit: number): Promise<AuditChainRow[]> {
      return (await q.all<ChainRowDb>(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit])).map(rowOf);
    },
    async listAuditChainBySeq(afterSeq: number, limit: number): Promise<AuditChainRow[]> {
      return (await q.all<ChainRowDb>(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, [afterSeq, limit])).map(rowOf);
    },
    async auditRowIdBySeq(seq: number): Promise<number | undefined> {
      const r = await q.get<{ id: number }>("SELECT id FROM audit_log WHERE seq = ? ORDER BY id LIMIT 1", [seq]);
      return r ? Number(r.id) : undefined;
    },
    auditChainAnchor: () => readAnchor(q),
    async listAuditCheckpoints(afterSize: number, limit: number): Promise<AuditCheckpoint[]> {
      return (await q.all<CheckpointDb>("SELECT * FROM audit_checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT ?", [afterSize, limit])).map(checkpointOf);
    },
    async latestAuditCheckpoint(): Promise<AuditCheckpoint | undefined> {
      const c = await q.get<CheckpointDb>("SELECT * FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
      return c && checkpointOf(c);
    },
    async listAuditKeys(): Promise<AuditKey[]> {
      return (await q.all<{ key_id: string; public_key: string; created_at: string }>("SELECT * FROM audit_keys ORDER BY created_at, key_id")).map((k) => ({
        keyId: k.key_id,
        publicKeyPem: k.public_key,
        createdAt: k.created_at,
      }));
    },
  };
}

/** Stores `c` (registering `key` if new) unless a checkpoint of the same or a larger size is stored. */
export async function insertCheckpoint(tx: Tx, c: AuditCheckpoint, key: AuditKey): Promise<boolean> {
  const top = await tx.get<{ n: number | null }>("SELECT MAX(tree_size) AS n FROM audit_checkpoints");
  if (top?.n != null && Number(top.n) >= c.treeSize) return false;
  await tx.run("INSERT INTO audit_keys (key_id, public_key, created_at) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING", [key.keyId, key.publicKeyPem, key.createdAt]);
  await tx.run("INSERT INTO audit_checkpoints (tree_size, root_hash, time, key_id, signature, frontier) VALUES (?, ?, ?, ?, ?, ?)", [
    c.treeSize,
    c.rootHash,
    c.time,
    c.keyId,
    c.signature,
    JSON.stringify(c.frontier),
  ]);
  return true;
}

/**
 * Migration 0012's step: chains the rows written before it, in id order, from the genesis marker
 * (seq 1, prev_hash AUDIT_GENESIS_HASH), a page at a time.
 */
export async function chainExistingRows(q: Reader): Promise<number> {
  let prev = AUDIT_GENESIS_HASH;
  let seq = 0;
  for (let afterId = 0; ;) {
    const page = await q.all<ChainRowDb>("SELECT id, time, actor, role, action, target, outcome, detail FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000", [afterId]);
    for (const r of page) {
      seq++;
      const h = auditRowHash(prev, seq, r);
      await q.run("UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE id = ?", [seq, prev, h, r.id]);
      prev = h;
    }
    if (page.length < 1000) return seq;
    afterId = Number(page.at(-1)!.id);
  }
}

/**
 * The chain of a sqlite data file, read-only (`sw-patch-controller audit-verify --data-dir`: no
 * migration runs and nothing is written). Undefined `store` when the file predates migration 0012.
 */
export async function openAuditChainFile(file: string): Promise<{ store: AuditChainStore | undefined; close(): Promise<void> }> {
  const conn = await new Promise<sqlite3.Database>((resolve, reject) => {
    const c = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(c)));
  });
  const close = async () => {
    await finalizeStatements(conn);
    await new Promise<void>((resolve) => conn.close(() => resolve()));
  };
  try {
    const q = wrap(conn);
    await q.run("PRAGMA busy_timeout=10000");
    const chained = await q.get("SELECT 1 AS x FROM schema_migrations WHERE version = 12");
    if (!chained) return { store: undefined, close };
    const store: AuditChainStore = {
      ...chainReads(q),
      insertAuditCheckpoint: () => Promise.reject(new Error("read-only")),
    };
    return { store, close };
  } catch (e) {
    await close();
    throw e;
  }
}
