/**
 * The console's request hook (CSRF and origin checks, then the caller from the one authenticate:
 * a Bearer or X-Auth-Token header or the session cookie, then the route's role) and its use of the
 * one audit writer (detail "web ...").
 */
import type * as http from "node:http";
import { roleSatisfies, type Caller, type Role } from "../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";
import type { Logger } from "../../lib/log.js";
import { HttpError } from "../http/errors.js";
import { AuthRefusal, createAuthenticate, type AuthenticatePolicy } from "../http/authenticate.js";
import { createHttpAudit } from "../http/audit.js";
import { CSRF_HEADER, csrfRefusal, targetOf, type Ctx } from "./console-common.js";
import type { ConsoleSessions } from "./console-sessions.js";

/** What {@link createConsoleAuth} needs. */
export interface ConsoleAuthOptions {
  auth: { verify(token: string): Promise<Caller> };
  externalTokens?: ExternalTokenVerifier | undefined;
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
  /** The caller a sign-in token stands for (no session, no cookie); throws HttpError 401/403/503, audited. */
  signIn(ctx: Ctx, token: string): Promise<Caller>;
  /** True while the request's credential still stands (the live event stream re-checks it). */
  stillSignedIn(ctx: Ctx): Promise<boolean>;
  /** Records one audit row for the signed-in caller (detail starts "web"); never throws. */
  writeAudit(ctx: Ctx, outcome: string, target: string, detail: string): Promise<void>;
}

/** Creates the console's auth hook and audit writer. */
export function createConsoleAuth(o: ConsoleAuthOptions): ConsoleAuth {
  const { log, sessions } = o;
  const audit = createHttpAudit(o.audit, log);
  const authenticateRequest = createAuthenticate({ auth: o.auth, externalTokens: o.externalTokens, log });
  const cookiePolicy = (ctx: Ctx): AuthenticatePolicy => ({ sessionToken: () => sessions.tokenOf(ctx.cookies) });

  const row = (ctx: Ctx, actor: string, role: string, outcome: string, target: string, detail: string, refused: boolean) =>
    audit({ api: "web", req: ctx.req, path: `/${ctx.segments.join("/")}`, action: ctx.route.meta.action, actor, role, target, outcome, detail, refused });

  const writeAudit = async (ctx: Ctx, outcome: string, target: string, detail: string) => {
    if (!ctx.caller) return;
    // A call that ran: never dropped by the refusal rate limit.
    await row(ctx, ctx.caller.tokenId, ctx.caller.role, outcome, target, detail, false);
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
    const audited = isAuditedRequirement(requirement);
    let caller: Caller;
    try {
      caller = (await authenticateRequest(ctx.req, cookiePolicy(ctx), ctx.signal)).caller;
    } catch (e) {
      if (!(e instanceof AuthRefusal)) throw e;
      if (e.reason === "unavailable") throw new HttpError(503, e.message, { error: `Error: ${e.message}` }, { "retry-after": "10" });
      if (audited) await row(ctx, e.actor, "", "UNAUTHENTICATED", targetOf(ctx), e.message, true);
      if (e.reason === "missing") throw new HttpError(401, "not signed in", { error: "Not signed in" });
      throw new HttpError(401, e.message, { error: `Not signed in: ${e.message}` });
    }
    if (!roleSatisfies(caller.role, requirement as Role)) {
      const message = `role ${caller.role} may not call ${ctx.route.meta.action}`;
      if (audited) await row(ctx, caller.tokenId, caller.role, "PERMISSION_DENIED", targetOf(ctx), message, true);
      throw new HttpError(403, message, { error: `Forbidden: ${message}` });
    }
    return caller;
  };

  const signIn = async (ctx: Ctx, token: string): Promise<Caller> => {
    // The token of the body, never a header or cookie: a fake request carrying only it.
    const only = { headers: { "x-auth-token": token }, socket: ctx.req.socket } as unknown as http.IncomingMessage;
    let caller: Caller;
    try {
      caller = (await authenticateRequest(only, {}, ctx.signal)).caller;
    } catch (e) {
      if (!(e instanceof AuthRefusal)) throw e;
      if (e.reason === "unavailable") throw new HttpError(503, e.message, { error: `Error: ${e.message}` }, { "retry-after": "10" });
      await row(ctx, e.actor, "", "UNAUTHENTICATED", "", `sign-in: ${e.message}`, true);
      throw new HttpError(401, e.message, { error: `Sign-in failed: ${e.message}` });
    }
    if (caller.role === "agent") {
      await row(ctx, caller.tokenId, caller.role, "PERMISSION_DENIED", "", "sign-in: agent tokens cannot use the console", true);
      throw new HttpError(403, "agent token", { error: "Sign-in failed: agent tokens cannot use the console" });
    }
    return caller;
  };

  const stillSignedIn = async (ctx: Ctx): Promise<boolean> => {
    try {
      await authenticateRequest(ctx.req, cookiePolicy(ctx));
      return true;
    } catch {
      return false;
    }
  };

  return { authenticate, signIn, stillSignedIn, writeAudit };
}
