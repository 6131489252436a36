/**
 * sqlite side of authentication: tokens, run-time trusted keys and the audit log (migration 0002),
 * host enrolments (migration 0007), the audit log's hash chain and checkpoints (migration 0012).
 */
import type { Db } from "./db.js";
import type { TokenRecord, TokenStore } from "../../domain/auth/auth-manager.js";
import type { AuditEntry, AuditStore } from "../../domain/auth/audit-log.js";
import type { StoredTrustedKey, TrustedKeyStore } from "../../domain/auth/trust-manager.js";
import type { Role } from "../../domain/auth/roles.js";
import type { EnrollmentRecord, EnrollmentStore } from "../../domain/auth/host-enrollment.js";
import type { AuditChainStore, AuditCheckpoint, AuditKey } from "../../domain/auth/audit-chain.js";
import { ENTRY_COLUMNS, appendChained, chainReads, insertCheckpoint, pruneChained } from "./audit-chain-store.js";

interface TokenRow {
  id: string;
  role: Role;
  hostname: string;
  description: string;
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
  personality: string;
}

function tokenOf(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    role: r.role,
    hostname: r.hostname,
    description: r.description,
    secretSha256: r.secret_sha256,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    ...(r.personality ? { personality: r.personality } : {}),
  };
}

interface EnrollmentRow {
  id: string;
  hostname: string;
  personality: string;
  secret_sha256: string;
  created_at: string;
  expires_at: string;
  created_by: string;
  state: EnrollmentRecord["state"];
  ended_at: string | null;
  credential_id: string;
}

function enrollmentOf(r: EnrollmentRow): EnrollmentRecord {
  return {
    id: r.id,
    hostname: r.hostname,
    personality: r.personality,
    secretSha256: r.secret_sha256,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    createdBy: r.created_by,
    state: r.state,
    endedAt: r.ended_at,
    credentialId: r.credential_id,
  };
}

const INSERT_TOKEN = "INSERT INTO auth_tokens (id, role, hostname, description, secret_sha256, created_at, revoked_at, personality) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
const tokenParams = (rec: TokenRecord) => [rec.id, rec.role, rec.hostname, rec.description, rec.secretSha256, rec.createdAt, rec.revokedAt, rec.personality ?? ""];

/**
 * Tokens already read, per database: every RPC verifies its token, and a token row changes only
 * through `revokeToken` below (which drops the entry once the revocation is committed), so a
 * revocation is still seen by the next call. Shared by every AuthStore over the same Db.
 */
const tokenCaches = new WeakMap<AuthDb, Map<string, TokenRecord>>();
const TOKEN_CACHE_MAX = 10_000;

/** What the auth stores use of a database: sqlite's Db, or the PostgreSQL adapter's PgDb (same SQL). */
export type AuthDb = Pick<Db, "tx" | "read" | "writeLazily" | "later">;

/** Audit rows waiting for the next transaction, per database (shared by every AuthStore over it). */
interface PendingAudit {
  rows: { entry: Omit<AuditEntry, "id">; resolve: () => void; reject: (e: unknown) => void }[];
  scheduled: boolean;
}
const pendingAudits = new WeakMap<AuthDb, PendingAudit>();

/** One object implementing the auth stores over the controller's Db. Reads see committed state. */
export class AuthStore implements TokenStore, TrustedKeyStore, AuditStore, AuditChainStore, EnrollmentStore {
  private readonly tokens: Map<string, TokenRecord>;
  private readonly pending: PendingAudit;
  private readonly chain: ReturnType<typeof chainReads>;

  constructor(private readonly db: AuthDb) {
    let cache = tokenCaches.get(db);
    if (!cache) tokenCaches.set(db, (cache = new Map()));
    this.tokens = cache;
    let pending = pendingAudits.get(db);
    if (!pending) pendingAudits.set(db, (pending = { rows: [], scheduled: false }));
    this.pending = pending;
    this.chain = chainReads(db.read);
  }

  async insertToken(rec: TokenRecord): Promise<void> {
    await this.db.tx((tx) => tx.run(INSERT_TOKEN, tokenParams(rec)));
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const hit = this.tokens.get(id);
    if (hit) return { ...hit };
    const r = await this.db.read.get<TokenRow>("SELECT * FROM auth_tokens WHERE id = ?", [id]);
    if (!r) return undefined;
    const rec = tokenOf(r);
    if (this.tokens.size >= TOKEN_CACHE_MAX) this.tokens.clear();
    this.tokens.set(id, rec);
    return { ...rec };
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.db.read.all<TokenRow>("SELECT * FROM auth_tokens ORDER BY created_at, id")).map(tokenOf);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    try {
      return await this.db.tx(async (tx) => {
        const found = await tx.get("SELECT 1 AS x FROM auth_tokens WHERE id = ?", [id]);
        if (!found) return false;
        await tx.run("UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id]);
        return true;
      });
    } finally {
      // After the commit (or its failure): the next lookup reads the row as it now is.
      this.tokens.delete(id);
    }
  }

  /**
   * Forgets every token read so far (issue 19): a pair member that becomes active again must see the revocations its
   * peer committed meanwhile (its own revocations drop their entries; the peer's cannot).
   */
  forgetCachedTokens(): void {
    this.tokens.clear();
  }

  async hasActiveToken(role: Role): Promise<boolean> {
    return !!(await this.db.read.get("SELECT 1 AS x FROM auth_tokens WHERE role = ? AND revoked_at IS NULL LIMIT 1", [role]));
  }

  insertEnrollment(rec: EnrollmentRecord): Promise<string[]> {
    return this.db.tx(async (tx) => {
      const replaced = await tx.all<{ id: string }>("SELECT id FROM host_enrollments WHERE hostname = ? AND state = 'pending' ORDER BY created_at, id", [rec.hostname]);
      if (replaced.length)
        await tx.run("UPDATE host_enrollments SET state = 'replaced', ended_at = ? WHERE hostname = ? AND state = 'pending'", [rec.createdAt, rec.hostname]);
      await tx.run(
        "INSERT INTO host_enrollments (id, hostname, personality, secret_sha256, created_at, expires_at, created_by, state, ended_at, credential_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [rec.id, rec.hostname, rec.personality, rec.secretSha256, rec.createdAt, rec.expiresAt, rec.createdBy, rec.state, rec.endedAt, rec.credentialId],
      );
      return replaced.map((r) => r.id);
    });
  }

  async getEnrollment(id: string): Promise<EnrollmentRecord | undefined> {
    const r = await this.db.read.get<EnrollmentRow>("SELECT * FROM host_enrollments WHERE id = ?", [id]);
    return r && enrollmentOf(r);
  }

  async listEnrollments(): Promise<EnrollmentRecord[]> {
    return (await this.db.read.all<EnrollmentRow>("SELECT * FROM host_enrollments ORDER BY created_at, id")).map(enrollmentOf);
  }

  async exchangeEnrollment(id: string, at: string, credential: TokenRecord): Promise<{ revokedTokenIds: string[] } | null> {
    let revoked: string[] = [];
    try {
      return await this.db.tx(async (tx) => {
        // The conditional update is the spend: of two exchanges, the second finds it spent.
        const spent = await tx.run("UPDATE host_enrollments SET state = 'spent', ended_at = ?, credential_id = ? WHERE id = ? AND state = 'pending' AND expires_at > ?", [
          at,
          credential.id,
          id,
          at,
        ]);
        if (spent.changes !== 1) return null;
        revoked = (
          await tx.all<{ id: string }>("SELECT id FROM auth_tokens WHERE role = 'agent' AND hostname = ? AND revoked_at IS NULL ORDER BY created_at, id", [
            credential.hostname,
          ])
        ).map((r) => r.id);
        if (revoked.length) await tx.run("UPDATE auth_tokens SET revoked_at = ? WHERE role = 'agent' AND hostname = ? AND revoked_at IS NULL", [at, credential.hostname]);
        await tx.run(INSERT_TOKEN, tokenParams(credential));
        return { revokedTokenIds: revoked };
      });
    } finally {
      for (const t of revoked) this.tokens.delete(t);
    }
  }

  async revokeHost(hostname: string, at: string): Promise<{ tokenIds: string[]; enrollmentIds: string[]; known: boolean }> {
    let tokenIds: string[] = [];
    try {
      return await this.db.tx(async (tx) => {
        tokenIds = (
          await tx.all<{ id: string }>("SELECT id FROM auth_tokens WHERE role = 'agent' AND hostname = ? AND revoked_at IS NULL ORDER BY created_at, id", [hostname])
        ).map((r) => r.id);
        const enrollmentIds = (
          await tx.all<{ id: string }>("SELECT id FROM host_enrollments WHERE hostname = ? AND state = 'pending' ORDER BY created_at, id", [hostname])
        ).map((r) => r.id);
        if (tokenIds.length) await tx.run("UPDATE auth_tokens SET revoked_at = ? WHERE role = 'agent' AND hostname = ? AND revoked_at IS NULL", [at, hostname]);
        if (enrollmentIds.length) await tx.run("UPDATE host_enrollments SET state = 'revoked', ended_at = ? WHERE hostname = ? AND state = 'pending'", [at, hostname]);
        const known =
          tokenIds.length + enrollmentIds.length > 0 ||
          !!(await tx.get("SELECT 1 AS x FROM auth_tokens WHERE role = 'agent' AND hostname = ? UNION ALL SELECT 1 FROM host_enrollments WHERE hostname = ? LIMIT 1", [
            hostname,
            hostname,
          ]));
        return { tokenIds, enrollmentIds, known };
      });
    } finally {
      // After the commit (or its failure): the next lookup reads the rows as they now are.
      for (const t of tokenIds) this.tokens.delete(t);
    }
  }

  listTrustedKeys(): Promise<StoredTrustedKey[]> {
    return this.db.read.all<StoredTrustedKey>("SELECT label, pem, fingerprint, created_at AS createdAt FROM trusted_keys ORDER BY seq");
  }

  async insertTrustedKey(k: StoredTrustedKey): Promise<void> {
    await this.db.tx((tx) => tx.run("INSERT INTO trusted_keys (label, pem, fingerprint, created_at) VALUES (?, ?, ?, ?)", [k.label, k.pem, k.fingerprint, k.createdAt]));
  }

  deleteTrustedKey(label: string): Promise<boolean> {
    return this.db.tx(async (tx) => (await tx.run("DELETE FROM trusted_keys WHERE label = ?", [label])).changes > 0);
  }

  /**
   * Appends an audit entry, durable when this resolves: written with the next transaction that
   * commits (on a busy controller, one it commits anyway; else its own within 20 ms), chained
   * after the last row (migration 0012). The rows waiting for one transaction are chained there
   * together, after one read of the chain's tail, on the writer (so no two rows follow the same
   * row). The id comes from the database (AUTOINCREMENT), so several stores over one file (tests
   * compose a second one) never collide.
   */
  appendAudit(e: Omit<AuditEntry, "id">): Promise<void> {
    const p = this.pending;
    return new Promise<void>((resolve, reject) => {
      p.rows.push({ entry: e, resolve, reject });
      if (p.scheduled) return;
      p.scheduled = true;
      let taken: PendingAudit["rows"] = [];
      let ran = false;
      this.db
        .later(async (tx) => {
          ran = true;
          taken = p.rows.splice(0);
          p.scheduled = false;
          await appendChained(
            tx,
            taken.map((r) => r.entry),
          );
        })
        .then(
          () => taken.forEach((r) => r.resolve()),
          (err: unknown) => {
            // Never ran (the database closed): whatever waits fails with it.
            if (!ran) {
              taken = p.rows.splice(0);
              p.scheduled = false;
            }
            taken.forEach((r) => r.reject(err));
          },
        );
    });
  }

  listAudit(afterId: number, limit: number): Promise<AuditEntry[]> {
    return this.db.read.all<AuditEntry>(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit]);
  }

  /**
   * Audit retention: the oldest rows, as a prefix of the chain (a row whose time is not before
   * `before` stops it), the chain's anchor moved past them (audit-chain-store.ts pruneChained).
   */
  pruneAudit(before: string, max: number): Promise<number> {
    return this.db.tx((tx) => pruneChained(tx, before, max));
  }

  listAuditChain(afterId: number, limit: number) {
    return this.chain.listAuditChain(afterId, limit);
  }

  listAuditChainBySeq(afterSeq: number, limit: number) {
    return this.chain.listAuditChainBySeq(afterSeq, limit);
  }

  auditRowIdBySeq(seq: number) {
    return this.chain.auditRowIdBySeq(seq);
  }

  auditChainAnchor() {
    return this.chain.auditChainAnchor();
  }

  listAuditCheckpoints(afterSize: number, limit: number) {
    return this.chain.listAuditCheckpoints(afterSize, limit);
  }

  latestAuditCheckpoint() {
    return this.chain.latestAuditCheckpoint();
  }

  listAuditKeys() {
    return this.chain.listAuditKeys();
  }

  insertAuditCheckpoint(c: AuditCheckpoint, key: AuditKey): Promise<boolean> {
    return this.db.tx((tx) => insertCheckpoint(tx, c, key));
  }
}
