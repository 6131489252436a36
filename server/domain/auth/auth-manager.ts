/**
 * Token lifecycle: create (secret shown once, only its hash stored), verify (every call, against
 * the store, so a revocation takes effect on the next call), list, revoke, and the bootstrap admin
 * token written to `<data-dir>/admin.token` at first start.
 */
import { promises as fsp } from "node:fs";
import { DomainError, invalidArgument, notFound } from "../errors.js";
import { writeFileAtomic } from "../../lib/fs-atomic.js";
import { isRole, type Caller, type Role } from "./roles.js";
import { generateToken, parseToken, secretMatches } from "./token.js";
import type { CredentialRevocations } from "./revocations.js";

/** One stored token. `secretSha256` is the hash of the secret; the secret itself is never kept. */
export interface TokenRecord {
  id: string;
  role: Role;
  /** Bound host for agent tokens, "" otherwise. */
  hostname: string;
  /** Bound personality of an enrolled host's credential; absent (or "") for every other token. */
  personality?: string;
  description: string;
  secretSha256: string;
  /** ISO-8601. */
  createdAt: string;
  /** ISO-8601, or null while the token is valid. */
  revokedAt: string | null;
}

/** What the domain needs from storage (implemented by server/storage/auth-store.ts). */
export interface TokenStore {
  insertToken(rec: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Marks the token revoked; false when no such id exists. Revoking twice keeps the first time. */
  revokeToken(id: string, at: string): Promise<boolean>;
  /** True if some non-revoked token has this role. */
  hasActiveToken(role: Role): Promise<boolean>;
}

/** A token as listed to admins (never the secret or its hash). */
export interface TokenInfo {
  id: string;
  role: Role;
  hostname: string;
  description: string;
  createdAt: string;
  revoked: boolean;
  /** The personality an enrolled host's credential is bound to, "" otherwise. */
  personality: string;
}

/** Options of {@link AuthManager.createToken}. */
export interface CreateTokenOptions {
  role: string;
  /** Required for `agent`, rejected for every other role. */
  hostname?: string;
  /** Free text, at most 256 characters. */
  description?: string;
}

/** What a hostname may look like (agent tokens, enrolments). */
export const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const MAX_DESCRIPTION = 256;

const unauthenticated = (message: string, reason: string) => new DomainError("unauthenticated", message, { reason });

function infoOf(r: TokenRecord): TokenInfo {
  return {
    id: r.id,
    role: r.role,
    hostname: r.hostname,
    description: r.description,
    createdAt: r.createdAt,
    revoked: r.revokedAt !== null,
    personality: r.personality ?? "",
  };
}

/** Tokens: creation, verification, revocation. Stateless apart from the store. */
export class AuthManager {
  private readonly store: TokenStore;
  private readonly now: () => Date;
  private readonly revocations: CredentialRevocations | undefined;

  /** `revocations` hears every revocation once committed (open agent streams end on it). */
  constructor(opts: { store: TokenStore; now?: () => Date; revocations?: CredentialRevocations }) {
    this.store = opts.store;
    this.now = opts.now ?? (() => new Date());
    this.revocations = opts.revocations;
  }

  /**
   * Creates a token and returns its string once.
   * @throws DomainError invalid-argument for an unknown role, a missing/unexpected hostname, or a
   *   description longer than 256 characters.
   */
  async createToken(opts: CreateTokenOptions): Promise<{ info: TokenInfo; token: string }> {
    const role = opts.role.trim();
    if (!isRole(role)) throw invalidArgument(`role: expected admin, operator, reader or agent, got "${opts.role}"`);
    const hostname = (opts.hostname ?? "").trim();
    if (role === "agent" && !hostname) throw invalidArgument("hostname: required for an agent token");
    if (role !== "agent" && hostname) throw invalidArgument(`hostname: only agent tokens are bound to a host, not ${role} tokens`);
    if (hostname && !HOSTNAME_RE.test(hostname)) throw invalidArgument(`hostname: invalid hostname "${hostname}"`);
    const description = opts.description ?? "";
    if (description.length > MAX_DESCRIPTION) throw invalidArgument(`description: at most ${MAX_DESCRIPTION} characters`);
    const g = generateToken();
    const rec: TokenRecord = {
      id: g.id,
      role,
      hostname,
      description,
      secretSha256: g.secretSha256,
      createdAt: this.now().toISOString(),
      revokedAt: null,
    };
    await this.store.insertToken(rec);
    return { info: infoOf(rec), token: g.token };
  }

  /**
   * Resolves a bearer token to its caller. Asks the store on every call (the store may cache a
   * row, but drops it when a revocation commits), so a revocation is seen by the next call;
   * compares the secret hash in constant time.
   * @throws DomainError unauthenticated "invalid token" (malformed, unknown id or wrong secret) or
   *   "token revoked" (only once the secret matched, so guessing reveals nothing).
   */
  async verify(token: string): Promise<Caller> {
    const parsed = parseToken(token);
    if (!parsed) throw unauthenticated("invalid token", "TOKEN_INVALID");
    const rec = await this.store.getToken(parsed.id);
    if (!rec || !secretMatches(parsed.secret, rec.secretSha256)) throw unauthenticated("invalid token", "TOKEN_INVALID");
    if (rec.revokedAt !== null) throw unauthenticated("token revoked", "TOKEN_REVOKED");
    if (rec.role !== "agent") return { tokenId: rec.id, role: rec.role };
    return rec.personality
      ? { tokenId: rec.id, role: rec.role, hostname: rec.hostname, personality: rec.personality }
      : { tokenId: rec.id, role: rec.role, hostname: rec.hostname };
  }

  /** Every token, revoked ones included, oldest first. */
  async list(): Promise<TokenInfo[]> {
    return (await this.store.listTokens()).map(infoOf);
  }

  /**
   * Revokes a token; effective for the next call that presents it. Revoking a revoked token is a
   * no-op. Revoking every admin token is allowed: the next controller start writes a new
   * `admin.token` (recovery needs access to the data directory).
   * @throws DomainError not-found "Token X not found".
   */
  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeToken(id, this.now().toISOString()))) throw notFound(`Token ${id} not found`, { reason: "TOKEN_NOT_FOUND" });
    this.revocations?.revoked([id]);
  }

  /**
   * At start: if no valid admin token exists, create one and write it to `file` (mode 0600,
   * atomically, with a trailing newline). The file is written before the token is stored, so a
   * crash in between leaves no unusable admin token behind; the next start simply makes a new one.
   * @returns the new token's id, or null when an admin token already existed (file untouched).
   */
  async ensureAdminTokenFile(file: string): Promise<string | null> {
    if (await this.store.hasActiveToken("admin")) return null;
    const g = generateToken();
    await writeFileAtomic(file, g.token + "\n", 0o600);
    await fsp.chmod(file, 0o600); // the umask may have masked the create mode; never widen it
    await this.store.insertToken({
      id: g.id,
      role: "admin",
      hostname: "",
      description: "bootstrap admin token (admin.token)",
      secretSha256: g.secretSha256,
      createdAt: this.now().toISOString(),
      revokedAt: null,
    });
    return g.id;
  }
}
