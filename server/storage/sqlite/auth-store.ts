/** sqlite side of authentication: tokens, run-time trusted keys and the audit log (migration 0002). */
import type { Db } from "./db.js";
import type { TokenRecord, TokenStore } from "../../domain/auth/auth-manager.js";
import type { AuditEntry, AuditStore } from "../../domain/auth/audit-log.js";
import type { StoredTrustedKey, TrustedKeyStore } from "../../domain/auth/trust-manager.js";
import type { Role } from "../../domain/auth/roles.js";

interface TokenRow {
  id: string;
  role: Role;
  hostname: string;
  description: string;
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
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
  };
}

/**
 * Tokens already read, per database: every RPC verifies its token, and a token row changes only
 * through `revokeToken` below (which drops the entry once the revocation is committed), so a
 * revocation is still seen by the next call. Shared by every AuthStore over the same Db.
 */
const tokenCaches = new WeakMap<Db, Map<string, TokenRecord>>();
const TOKEN_CACHE_MAX = 10_000;

/** One object implementing the three stores over the controller's Db. Reads see committed state. */
export class AuthStore implements TokenStore, TrustedKeyStore, AuditStore {
  private readonly tokens: Map<string, TokenRecord>;

  constructor(private readonly db: Db) {
    let cache = tokenCaches.get(db);
    if (!cache) tokenCaches.set(db, (cache = new Map()));
    this.tokens = cache;
  }

  async insertToken(rec: TokenRecord): Promise<void> {
    await this.db.tx((tx) =>
      tx.run("INSERT INTO auth_tokens (id, role, hostname, description, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
        rec.id,
        rec.role,
        rec.hostname,
        rec.description,
        rec.secretSha256,
        rec.createdAt,
        rec.revokedAt,
      ]),
    );
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

  async hasActiveToken(role: Role): Promise<boolean> {
    return !!(await this.db.read.get("SELECT 1 AS x FROM auth_tokens WHERE role = ? AND revoked_at IS NULL LIMIT 1", [role]));
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
   * commits (on a busy controller, one it commits anyway; else its own within 20 ms). The id
   * comes from sqlite (AUTOINCREMENT), so several stores over one file (tests compose a second
   * one) never collide.
   */
  async appendAudit(e: Omit<AuditEntry, "id">): Promise<void> {
    await this.db.writeLazily("INSERT INTO audit_log (time, actor, role, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", [
      e.time,
      e.actor,
      e.role,
      e.action,
      e.target,
      e.outcome,
      e.detail,
    ]);
  }

  listAudit(afterId: number, limit: number): Promise<AuditEntry[]> {
    return this.db.read.all<AuditEntry>("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", [afterId, limit]);
  }

  /** Audit retention: the oldest rows come first in id order, so the scan stops soon after them. */
  pruneAudit(before: string, max: number): Promise<number> {
    return this.db.tx(
      async (tx) => (await tx.run("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < ? ORDER BY id LIMIT ?)", [before, max])).changes,
    );
  }
}
