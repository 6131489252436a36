/**
 * The patching API's use of the one authenticate and audit writer (server/transport/http/): its
 * refusal shapes, its audit rows (detail "rest ..."), and the browser/DNS-rebinding precheck for
 * local trust.
 */
import type * as http from "node:http";
import { roleSatisfies, type Caller, type Role } from "../../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../../domain/auth/audit-log.js";
import type { ExternalTokenVerifier } from "../../../domain/auth/external-token.js";
import type { Logger } from "../../../lib/log.js";
import { HttpError } from "../../http/errors.js";
import { AuthRefusal, createAuthenticate, isLoopbackAddress } from "../../http/authenticate.js";
import { createHttpAudit } from "../../http/audit.js";
import type { Ctx } from "./common.js";

/** What {@link createPatchApiAuth} needs. */
export interface PatchApiAuthOptions {
  auth: { verify(token: string): Promise<Caller> };
  externalTokens?: ExternalTokenVerifier | undefined;
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

const KEYSTONE_CHALLENGE = { "www-authenticate": 'Keystone uri=""' };

/** Creates the patching API's auth hooks. */
export function createPatchApiAuth(o: PatchApiAuthOptions): PatchApiAuth {
  const { log, localTrust } = o;
  const audit = createHttpAudit(o.audit, log);
  const authenticateRequest = createAuthenticate({ auth: o.auth, externalTokens: o.externalTokens, log });

  const writeAudit = (ctx: Ctx, actor: string, role: string, outcome: string, target: string, detail: string) =>
    audit({
      api: "rest",
      req: ctx.req,
      path: `/${ctx.segments.slice(0, 2).join("/")}`,
      action: ctx.route.meta.action,
      actor,
      role,
      target,
      outcome,
      detail,
      refused: outcome === "UNAUTHENTICATED" || outcome === "PERMISSION_DENIED",
    });

  const authenticate = async (ctx: Ctx): Promise<Caller | undefined> => {
    const requirement = ctx.route.meta.requirement;
    if (requirement === "public") return undefined;
    const audited = isAuditedRequirement(requirement);
    let caller: Caller;
    try {
      caller = (await authenticateRequest(ctx.req, { localTrust }, ctx.signal)).caller;
    } catch (e) {
      if (!(e instanceof AuthRefusal)) throw e;
      if (e.reason === "unavailable") throw new HttpError(503, e.message, { error: `Error: ${e.message}` }, { "retry-after": "10" });
      if (audited) await writeAudit(ctx, e.actor, "", "UNAUTHENTICATED", targetOf(ctx), e.message);
      if (e.reason === "missing") throw new HttpError(401, "missing token", { error: "Authentication required: missing X-Auth-Token" }, KEYSTONE_CHALLENGE);
      throw new HttpError(401, e.message, { error: `Authentication failed: ${e.message}` }, KEYSTONE_CHALLENGE);
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
    if (host && !isLoopbackAddress(host)) throw new HttpError(403, "non-loopback Host refused", { error: `Forbidden: Host ${host.slice(0, 64)} is not a loopback name` });
  };

  return { writeAudit, authenticate, precheck };
}
