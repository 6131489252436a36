/**
 * Roles and callers. A caller is what an authenticated bearer token resolves to; the transport
 * attaches it to every call context so services can check who is acting.
 */
import { DomainError } from "../errors.js";

/**
 * Token roles. `reader` < `operator` < `admin` form a ladder; `agent` is outside it: an agent token
 * may only use AgentService, and only as the host it is bound to.
 */
export type Role = "admin" | "operator" | "reader" | "agent";

/** Every role, in the order the docs list them. */
export const ROLES: readonly Role[] = ["admin", "operator", "reader", "agent"];

/** The identity of an authenticated call. */
export interface Caller {
  /** Token id (the `<id>` of `swp_<id>_<secret>`), or "local" when authentication is disabled. */
  readonly tokenId: string;
  readonly role: Role;
  /** For `agent` tokens: the only host this caller may act as. */
  readonly hostname?: string;
  /** For an enrolled host's credential: the only personality its host may claim. */
  readonly personality?: string;
}

/** The caller used for every call when authentication is disabled (embedded use and tests). */
export const LOCAL_CALLER: Caller = Object.freeze({ tokenId: "local", role: "admin" as const });

const LADDER: Record<Role, number> = { reader: 1, operator: 2, admin: 3, agent: 0 };

/** True for the role names tokens may carry. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * True if `role` is at least `minimum` on the reader < operator < admin ladder.
 * `agent` satisfies no ladder role, and no ladder role satisfies `agent` except `admin`.
 */
export function roleSatisfies(role: Role, minimum: Role): boolean {
  if (minimum === "agent") return role === "agent" || role === "admin";
  if (role === "agent") return false;
  return LADDER[role] >= LADDER[minimum];
}

/**
 * Throws unless `caller` may act as host `hostname` on AgentService: an agent token only as its
 * own host (and an enrolled host's credential only with its enrolled personality), an admin token
 * as any host. Call it with the hostname and personality an agent claims (the hello).
 * @throws DomainError unauthenticated when there is no caller; permission-denied otherwise.
 */
export function assertMayActAsHost(caller: Caller | undefined, hostname: string, personality?: string): void {
  if (!caller) throw new DomainError("unauthenticated", "missing token", { reason: "TOKEN_MISSING" });
  if (caller.role === "admin") return;
  if (caller.role === "agent" && caller.hostname !== undefined && caller.hostname === hostname) {
    if (!caller.personality || personality === undefined || personality === caller.personality) return;
    throw new DomainError("permission-denied", `credential of ${hostname} is enrolled as ${caller.personality}, not ${personality}`, {
      reason: "PERSONALITY_MISMATCH",
      hostname,
    });
  }
  if (caller.role === "agent") {
    throw new DomainError("permission-denied", `agent token for ${caller.hostname ?? "?"} may not act as host ${hostname}`, {
      reason: "HOST_MISMATCH",
      hostname,
    });
  }
  throw new DomainError("permission-denied", `role ${caller.role} may not act as host ${hostname}`, { reason: "HOST_MISMATCH", hostname });
}
