/**
 * Host enrolment: an operator creates a one-time enrolment token for a hostname and personality
 * (`sw-patch host-enroll`); the host's agent exchanges it once (AgentService.Enroll) for the host's
 * own credential, an agent token bound to that hostname and personality; `sw-patch host-revoke`
 * cuts the host off (its credentials and pending enrolments revoked, its open stream ended).
 *
 * Decisions (docs/security.md, "Enrolment and revocation"):
 * - Enrolling a host with a pending enrolment replaces it (the old token is refused from then on).
 * - Enrolling a host that already has a credential is allowed (re-provisioning); the old
 *   credential keeps working until the new enrolment token is exchanged, and is revoked in the
 *   same transaction as the exchange: a host has at most one live enrolled credential.
 * - The exchange spends the enrolment and stores the credential in one transaction, so of two
 *   concurrent exchanges of the same token exactly one wins.
 * - Only sha256 of an enrolment token's secret is stored, as for bearer tokens.
 */
import { DomainError, invalidArgument, notFound } from "../errors.js";
import { HOSTNAME_RE, type TokenInfo, type TokenRecord } from "./auth-manager.js";
import type { CredentialRevocations } from "./revocations.js";
import { generateEnrollToken, generateToken, parseEnrollToken, secretMatches } from "./token.js";

/** Stored state of an enrolment; "expired" is not stored, it is a pending one past its expiry. */
export type EnrollmentStoredState = "pending" | "spent" | "replaced" | "revoked";
/** State of an enrolment as listed. */
export type EnrollmentState = EnrollmentStoredState | "expired";

/** One stored enrolment. The token's secret is never kept, only its hash. */
export interface EnrollmentRecord {
  id: string;
  hostname: string;
  personality: string;
  secretSha256: string;
  /** ISO-8601. */
  createdAt: string;
  /** ISO-8601: the token is refused from this instant. */
  expiresAt: string;
  /** Token id of the operator who created it. */
  createdBy: string;
  state: EnrollmentStoredState;
  /** ISO-8601 time it was spent, replaced or revoked; null while pending. */
  endedAt: string | null;
  /** Id of the credential it was exchanged for ("" unless spent). */
  credentialId: string;
}

/** What enrolment needs from storage (sqlite: server/storage/sqlite/auth-store.ts). */
export interface EnrollmentStore {
  /**
   * In one transaction: marks the host's pending enrolments "replaced" (endedAt = rec.createdAt)
   * and inserts `rec`. Resolves with the ids it replaced.
   */
  insertEnrollment(rec: EnrollmentRecord): Promise<string[]>;
  getEnrollment(id: string): Promise<EnrollmentRecord | undefined>;
  /** Every enrolment, oldest first. */
  listEnrollments(): Promise<EnrollmentRecord[]>;
  /**
   * In one transaction, only if enrolment `id` is still pending and expires after `at`: marks it
   * spent (endedAt = at, credentialId = credential.id), revokes (at `at`) every unrevoked agent
   * token bound to `credential.hostname`, and inserts `credential`. Resolves with the ids it
   * revoked, or null (nothing written) when the enrolment was not pending any more or expired.
   * Of concurrent calls for one id, at most one gets a non-null answer.
   */
  exchangeEnrollment(id: string, at: string, credential: TokenRecord): Promise<{ revokedTokenIds: string[] } | null>;
  /**
   * In one transaction: revokes every unrevoked agent token bound to `hostname` and every pending
   * enrolment of it (at `at`). `known` is false when no token or enrolment ever named the host.
   */
  revokeHost(hostname: string, at: string): Promise<{ tokenIds: string[]; enrollmentIds: string[]; known: boolean }>;
}

/** An enrolment as listed (never the secret or its hash). */
export interface EnrollmentInfo {
  id: string;
  hostname: string;
  personality: string;
  createdAt: string;
  expiresAt: string;
  state: EnrollmentState;
  createdBy: string;
  credentialId: string;
}

/** The personalities a host may enrol with. */
export const PERSONALITIES: readonly string[] = ["controller", "worker", "storage"];
/** Default lifetime of an enrolment token: one hour. */
export const DEFAULT_ENROLL_SECONDS = 3600;
/** Longest lifetime of an enrolment token: seven days. */
export const MAX_ENROLL_SECONDS = 7 * 24 * 3600;

const unauthenticated = (message: string, reason: string) => new DomainError("unauthenticated", message, { reason });

/** Options of {@link HostEnrollment.enroll}. */
export interface EnrollOptions {
  hostname: string;
  personality: string;
  /** Lifetime in seconds, 1 to {@link MAX_ENROLL_SECONDS}; 0 or absent: {@link DEFAULT_ENROLL_SECONDS}. */
  expiresSeconds?: number;
  /** Token id of the caller. */
  createdBy: string;
}

/** Options of {@link HostEnrollment.exchange}: what the agent presents. */
export interface ExchangeOptions {
  enrollToken: string;
  hostname: string;
  personality: string;
}

/** Enrolment: create, exchange, revoke, list. Stateless apart from the store. */
export class HostEnrollment {
  private readonly store: EnrollmentStore;
  private readonly now: () => Date;
  private readonly revocations: CredentialRevocations | undefined;

  constructor(opts: { store: EnrollmentStore; now?: () => Date; revocations?: CredentialRevocations }) {
    this.store = opts.store;
    this.now = opts.now ?? (() => new Date());
    this.revocations = opts.revocations;
  }

  /**
   * Creates a one-time enrolment token for a host (shown once) and replaces the host's pending one.
   * @throws DomainError invalid-argument for a bad hostname, personality or lifetime.
   */
  async enroll(o: EnrollOptions): Promise<{ info: EnrollmentInfo; token: string; replaced: string[] }> {
    const hostname = o.hostname.trim();
    if (!hostname) throw invalidArgument("hostname: required");
    if (!HOSTNAME_RE.test(hostname)) throw invalidArgument(`hostname: invalid hostname "${hostname}"`);
    const personality = o.personality.trim();
    if (!PERSONALITIES.includes(personality)) throw invalidArgument(`personality: expected controller, worker or storage, got "${o.personality}"`);
    const seconds = o.expiresSeconds || DEFAULT_ENROLL_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_ENROLL_SECONDS) {
      throw invalidArgument(`expires: from 1 second to 7 days (${MAX_ENROLL_SECONDS} s), got ${o.expiresSeconds}`);
    }
    const now = this.now();
    const g = generateEnrollToken();
    const rec: EnrollmentRecord = {
      id: g.id,
      hostname,
      personality,
      secretSha256: g.secretSha256,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
      createdBy: o.createdBy,
      state: "pending",
      endedAt: null,
      credentialId: "",
    };
    const replaced = await this.store.insertEnrollment(rec);
    return { info: this.infoOf(rec), token: g.token, replaced };
  }

  /**
   * Exchanges an enrolment token for the host's credential (its string returned once).
   * @throws DomainError unauthenticated: "invalid enrolment token" (malformed, unknown, wrong
   *   secret), "enrolment token already used", "... expired", "... replaced ...", "... revoked";
   *   permission-denied when the token was issued for another hostname or personality.
   */
  async exchange(o: ExchangeOptions): Promise<{ token: string; info: TokenInfo; revokedTokenIds: string[] }> {
    const parsed = parseEnrollToken(o.enrollToken.trim());
    if (!parsed) throw unauthenticated("invalid enrolment token", "ENROLL_TOKEN_INVALID");
    const rec = await this.store.getEnrollment(parsed.id);
    if (!rec || !secretMatches(parsed.secret, rec.secretSha256)) throw unauthenticated("invalid enrolment token", "ENROLL_TOKEN_INVALID");
    const now = this.now();
    this.assertUsable(rec, now);
    if (o.hostname !== rec.hostname) {
      throw new DomainError("permission-denied", `enrolment token for host ${rec.hostname} may not enrol host ${o.hostname}`, {
        reason: "ENROLL_HOST_MISMATCH",
        hostname: o.hostname,
      });
    }
    if (o.personality !== rec.personality) {
      throw new DomainError("permission-denied", `enrolment token for host ${rec.hostname} is for personality ${rec.personality}, not ${o.personality}`, {
        reason: "ENROLL_PERSONALITY_MISMATCH",
        hostname: o.hostname,
      });
    }
    const g = generateToken();
    const at = now.toISOString();
    const credential: TokenRecord = {
      id: g.id,
      role: "agent",
      hostname: rec.hostname,
      personality: rec.personality,
      description: `enrolled host credential (enrolment ${rec.id})`,
      secretSha256: g.secretSha256,
      createdAt: at,
      revokedAt: null,
    };
    const r = await this.store.exchangeEnrollment(rec.id, at, credential);
    if (!r) {
      // Another exchange (or a revocation) got there first: say what it is now.
      const again = await this.store.getEnrollment(rec.id);
      if (again) this.assertUsable(again, now);
      throw unauthenticated("enrolment token already used", "ENROLL_TOKEN_SPENT");
    }
    this.revocations?.revoked(r.revokedTokenIds);
    return {
      token: g.token,
      info: {
        id: g.id,
        role: "agent",
        hostname: rec.hostname,
        personality: rec.personality,
        description: credential.description,
        createdAt: at,
        revoked: false,
      },
      revokedTokenIds: r.revokedTokenIds,
    };
  }

  /**
   * Cuts a host off: its credentials and pending enrolments are revoked, and open calls made with
   * those credentials hear it (the agent's stream ends).
   * @throws DomainError invalid-argument for a bad hostname; not-found when no credential or
   *   enrolment ever named the host.
   */
  async revokeHost(hostname: string): Promise<{ tokenIds: string[]; enrollmentIds: string[] }> {
    const h = hostname.trim();
    if (!h || !HOSTNAME_RE.test(h)) throw invalidArgument(`hostname: invalid hostname "${hostname}"`);
    const r = await this.store.revokeHost(h, this.now().toISOString());
    if (!r.known) throw notFound(`Host ${h} has no credentials or enrolments`, { reason: "HOST_NOT_ENROLLED", hostname: h });
    this.revocations?.revoked(r.tokenIds);
    return { tokenIds: r.tokenIds, enrollmentIds: r.enrollmentIds };
  }

  /** Every enrolment, oldest first, with its state as of now. */
  async list(): Promise<EnrollmentInfo[]> {
    return (await this.store.listEnrollments()).map((r) => this.infoOf(r));
  }

  private infoOf(r: EnrollmentRecord): EnrollmentInfo {
    const expired = r.state === "pending" && Date.parse(r.expiresAt) <= this.now().getTime();
    return {
      id: r.id,
      hostname: r.hostname,
      personality: r.personality,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      state: expired ? "expired" : r.state,
      createdBy: r.createdBy,
      credentialId: r.credentialId,
    };
  }

  private assertUsable(rec: EnrollmentRecord, now: Date): void {
    if (rec.state === "spent") throw unauthenticated("enrolment token already used", "ENROLL_TOKEN_SPENT");
    if (rec.state === "replaced") throw unauthenticated(`enrolment token replaced by a newer enrolment of ${rec.hostname}`, "ENROLL_TOKEN_REPLACED");
    if (rec.state === "revoked") throw unauthenticated("enrolment token revoked", "ENROLL_TOKEN_REVOKED");
    if (Date.parse(rec.expiresAt) <= now.getTime()) throw unauthenticated(`enrolment token expired at ${rec.expiresAt}`, "ENROLL_TOKEN_EXPIRED");
  }
}
