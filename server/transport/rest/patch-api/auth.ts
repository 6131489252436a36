/**
 * The patching API's authentication (controller tokens in `X-Auth-Token`, or the local admin under
 * local trust), its audit writer, and the browser/DNS-rebinding precheck for local trust.
 */
import type * as http from "node:http";
import { isDomainError } from "../../../domain/errors.js";
import { LOCAL_CALLER, roleSatisfies, type Caller, type Role } from "../../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../../domain/auth/audit-log.js";
import { parseToken } from "../../../domain/auth/token.js";
import type { Logger } from "../../../lib/log.js";
import { HttpError, isLoopbackAddress } from "../http.js";
import type { Ctx } from "./common.js";

/** What {@link createPatchApiAuth} needs. */
export interface PatchApiAuthOptions {
  auth: { verify(token: string): Promise<Caller> };
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log: Logger;
  localTrust: boolean;
}

/** The audit target of a request: host=, release= or patches= from the path, plus app=. */
export function targetOf(ctx: Ctx): string {
  const parts: string[] = [];
  const a = ctx.route.meta.action;
  if (ctx.rest.length) {
    if (/Host/.test(a)) parts.push(`host=${ctx.rest[0]}`);
    else if (/Release/.test(a)) parts.push(`release=${ctx.rest[0]}`);
    else parts.push(`patches=${ctx.rest.join(",")}`);
  }
  const app = ctx.query.get("app");
  if (app) parts.push(`app=${app}`);
  return parts.join(" ");
}

/** The audit writer and the two request hooks of the patching API server. */
export interface PatchApiAuth {
  /** Records one audit row (action = the route's RPC name, detail starts "rest"); never throws. */
  writeAudit(ctx: Ctx, actor: string, role: string, outcome: string, target: string, detail: string): Promise<void>;
  /** The caller of a non-public route, or throws HttpError 401/403/503 (refusals audited). */
  authenticate(ctx: Ctx): Promise<Caller | undefined>;
  /**
   * Under local trust the API must not be drivable by a web page the local user visits: refuse
   * browser cross-origin requests (an Origin header) and DNS-rebinding hosts (Host not loopback).
   */
  precheck(req: http.IncomingMessage): void;
}

/** Creates the patching API's auth hooks. */
export function createPatchApiAuth(o: PatchApiAuthOptions): PatchApiAuth {
  const { log, localTrust } = o;

  const writeAudit = async (ctx: Ctx, actor: string, role: string, outcome: string, target: string, detail: string) => {
    if (!o.audit) return;
    try {
      await o.audit.record({
        actor,
        role,
        action: ctx.route.meta.action,
        target,
        outcome,
        detail: `rest ${ctx.method} /${ctx.segments.slice(0, 2).join("/")}${detail ? `: ${detail}` : ""}`,
        ...(ctx.req.socket.remoteAddress ? { source: ctx.req.socket.remoteAddress } : {}),
      });
    } catch (e) {
      log.error("audit write failed", { action: ctx.route.meta.action, actor, outcome, error: (e as Error).message });
    }
  };

  const authenticate = async (ctx: Ctx): Promise<Caller | undefined> => {
    const requirement = ctx.route.meta.requirement;
    if (requirement === "public") return undefined;
    const audited = isAuditedRequirement(requirement);
    const raw = ctx.req.headers["x-auth-token"];
    const token = typeof raw === "string" ? raw.trim() : undefined;
    const local = localTrust && isLoopbackAddress(ctx.req.socket.localAddress) && isLoopbackAddress(ctx.req.socket.remoteAddress);
    let caller: Caller | undefined;
    if (token) {
      try {
        caller = await o.auth.verify(token);
      } catch (e) {
        if (!isDomainError(e)) {
          log.error("token verification failed", { error: (e as Error)?.message });
          throw new HttpError(503, "token verification unavailable");
        }
        // Keystone (--keystone-url) could not be asked: refused, never let through.
        if (e.kind === "unavailable") throw new HttpError(503, e.message, { error: `Error: ${e.message}` }, { "retry-after": "10" });
        if (!local) {
          const message = e.kind === "unauthenticated" ? e.message : "invalid token";
          if (audited) await writeAudit(ctx, parseToken(token)?.id ?? "anonymous", "", "UNAUTHENTICATED", targetOf(ctx), message);
          throw new HttpError(401, message, { error: `Authentication failed: ${message}` }, { "www-authenticate": 'Keystone uri=""' });
        }
        // Local trust: a token we do not know (e.g. a Keystone one) is ignored.
      }
    }
    if (!caller) {
      if (!local) {
        if (audited) await writeAudit(ctx, "anonymous", "", "UNAUTHENTICATED", targetOf(ctx), "missing token");
        throw new HttpError(401, "missing token", { error: "Authentication required: missing X-Auth-Token" }, { "www-authenticate": 'Keystone uri=""' });
      }
      caller = LOCAL_CALLER;
    }
    if (!roleSatisfies(caller.role, requirement as Role)) {
      const message = `role ${caller.role} may not call ${ctx.route.meta.action}`;
      if (audited) await writeAudit(ctx, caller.tokenId, caller.role, "PERMISSION_DENIED", targetOf(ctx), message);
      throw new HttpError(403, message, { error: `Forbidden: ${message}` });
    }
    return caller;
  };

  const precheck = (req: http.IncomingMessage) => {
    if (!localTrust) return;
    const origin = req.headers.origin;
    if (origin !== undefined) throw new HttpError(403, "cross-origin request refused", { error: "Forbidden: browser cross-origin requests are refused" });
    const host = (req.headers.host ?? "")
      .replace(/:\d+$/, "")
      .replace(/^\[(.*)\]$/, "$1")
      .toLowerCase();
    if (host && host !== "localhost" && !isLoopbackAddress(host))
      throw new HttpError(403, "non-loopback Host refused", { error: `Forbidden: Host ${host.slice(0, 64)} is not a loopback name` });
  };

  return { writeAudit, authenticate, precheck };
}
