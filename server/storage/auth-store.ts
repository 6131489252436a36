/** sqlite side of authentication: tokens, run-time trusted keys and the audit log (migration 0002). */
import type { Db } from "./db.js";
import type { TokenRecord, TokenStore } from "../domain/auth/auth-manager.js";
import type { AuditEntry, AuditStore } from "../domain/auth/audit-log.js";
import type { StoredTrustedKey, TrustedKeyStore } from "../domain/auth/trust-manager.js";
import type { Role } from "../domain/auth/roles.js";

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

/** One object implementing the three stores over the controller's Db. Reads see committed state. */
export class AuthStore implements TokenStore, TrustedKeyStore, AuditStore {
  constructor(private readonly db: Db) {}

  async insertToken(rec: TokenRecord): Promise<void> {
    await this.db.tx((tx) =>
      tx.run(
        "INSERT INTO auth_tokens (id, role, hostname, description, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [rec.id, rec.role, rec.hostname, rec.description, rec.secretSha256, rec.createdAt, rec.revokedAt],
      ),
    );
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const r = await this.db.read.get<TokenRow>("SELECT * FROM auth_tokens WHERE id = ?", [id]);
    return r && tokenOf(r);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.db.read.all<TokenRow>("SELECT * FROM auth_tokens ORDER BY created_at, id")).map(tokenOf);
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const found = await tx.get("SELECT 1 AS x FROM auth_tokens WHERE id = ?", [id]);
      if (!found) return false;
      await tx.run("UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id]);
      return true;
    });
  }

  async hasActiveToken(role: Role): Promise<boolean> {
    return !!(await this.db.read.get("SELECT 1 AS x FROM auth_tokens WHERE role = ? AND revoked_at IS NULL LIMIT 1", [role]));
  }

  listTrustedKeys(): Promise<StoredTrustedKey[]> {
    return this.db.read.all<StoredTrustedKey>(
      "SELECT label, pem, fingerprint, created_at AS createdAt FROM trusted_keys ORDER BY seq",
    );
  }

  async insertTrustedKey(k: StoredTrustedKey): Promise<void> {
    await this.db.tx((tx) =>
      tx.run("INSERT INTO trusted_keys (label, pem, fingerprint, created_at) VALUES (?, ?, ?, ?)", [k.label, k.pem, k.fingerprint, k.createdAt]),
    );
  }

  deleteTrustedKey(label: string): Promise<boolean> {
    return this.db.tx(async (tx) => (await tx.run("DELETE FROM trusted_keys WHERE label = ?", [label])).changes > 0);
  }

  appendAudit(e: Omit<AuditEntry, "id">): Promise<number> {
    return this.db.tx(
      async (tx) =>
        (
          await tx.run("INSERT INTO audit_log (time, actor, role, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", [
            e.time,
            e.actor,
            e.role,
            e.action,
            e.target,
            e.outcome,
            e.detail,
          ])
        ).lastID,
    );
  }

  listAudit(afterId: number, limit: number): Promise<AuditEntry[]> {
    return this.db.read.all<AuditEntry>("SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", [afterId, limit]);
  }
}
