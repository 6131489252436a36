/**
 * The console's request hook (CSRF and origin checks, then the caller from a Bearer token or the
 * session cookie, then the route's role) and its audit writer.
 */
import { isDomainError } from "../../domain/errors.js";
import { roleSatisfies, type Caller, type Role } from "../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { Logger } from "../../lib/log.js";
import { HttpError } from "../rest/http.js";
import { CSRF_HEADER, csrfRefusal, targetOf, type Ctx } from "./console-common.js";
import type { ConsoleSessions } from "./console-sessions.js";

/** What {@link createConsoleAuth} needs. */
export interface ConsoleAuthOptions {
  auth: { verify(token: string): Promise<Caller> };
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log: Logger;
  sessions: ConsoleSessions;
}

/** The console's auth hook and audit writer. */
export interface ConsoleAuth {
  /**
   * CSRF (state-changing `/api` requests need the console header, except uploads, which check it
   * in their handler, and a same-origin Origin if any), then the caller and its role for non-public
   * routes; throws HttpError 401/403/503.
   */
  authenticate(ctx: Ctx): Promise<Caller | undefined>;
  /** Records one audit row for the signed-in caller (detail starts "web"); never throws. */
  writeAudit(ctx: Ctx, outcome: string, target: string, detail: string): Promise<void>;
}

/** Creates the console's auth hook and audit writer. */
export function createConsoleAuth(o: ConsoleAuthOptions): ConsoleAuth {
  const { log, sessions } = o;

  const writeAudit = async (ctx: Ctx, outcome: string, target: string, detail: string) => {
    if (!o.audit || !ctx.caller) return;
    try {
      await o.audit.record({
        actor: ctx.caller.tokenId,
        role: ctx.caller.role,
        action: ctx.route.meta.action,
        target,
        outcome,
        detail: `web ${ctx.method} /${ctx.segments.join("/")}${detail ? `: ${detail}` : ""}`,
        // A call that ran: never dropped by the refusal rate limit.
        refusal: false,
      });
    } catch (e) {
      log.error("audit write failed", { action: ctx.route.meta.action, error: (e as Error).message });
    }
  };

  const authenticate = async (ctx: Ctx): Promise<Caller | undefined> => {
    const mutating = ctx.method !== "GET" && ctx.method !== "HEAD";
    if (mutating && ctx.segments[0] === "api") {
      const origin = ctx.req.headers.origin;
      const host = ctx.req.headers.host;
      if (origin !== undefined && (!host || (origin !== `http://${host}` && origin !== `https://${host}`))) {
        throw new HttpError(403, "cross-origin request refused", { error: "Forbidden: cross-origin request refused" });
      }
      // Multipart uploads are checked in their handler (the header must be read before the body).
      if (ctx.route.meta.action !== "UploadPatch" && ctx.req.headers[CSRF_HEADER] !== "1") throw csrfRefusal();
    }
    const requirement = ctx.route.meta.requirement;
    if (requirement === "public") return undefined;
    const token = sessions.tokenOf(ctx.req);
    if (!token) throw new HttpError(401, "not signed in", { error: "Not signed in" });
    let caller: Caller;
    try {
      caller = await o.auth.verify(token);
    } catch (e) {
      if (isDomainError(e) && e.kind === "unauthenticated") throw new HttpError(401, e.message, { error: `Not signed in: ${e.message}` });
      log.error("token verification failed", { error: (e as Error)?.message });
      throw new HttpError(503, "token verification unavailable", { error: "Error: token verification unavailable" });
    }
    if (!roleSatisfies(caller.role, requirement as Role)) {
      const message = `role ${caller.role} may not call ${ctx.route.meta.action}`;
      if (isAuditedRequirement(requirement) && o.audit) {
        await o.audit
          .record({
            actor: caller.tokenId,
            role: caller.role,
            action: ctx.route.meta.action,
            target: targetOf(ctx),
            outcome: "PERMISSION_DENIED",
            detail: `web ${ctx.method} /${ctx.segments.join("/")}: ${message}`,
            ...(ctx.req.socket.remoteAddress ? { source: ctx.req.socket.remoteAddress } : {}),
          })
          .catch(() => undefined);
      }
      throw new HttpError(403, message, { error: `Forbidden: ${message}` });
    }
    return caller;
  };

  return { authenticate, writeAudit };
}
