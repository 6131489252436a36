/**
 * The reference's patching HTTP API (spec 5.2, 6.2) as a gateway over the same domain objects the
 * gRPC services use, so both always agree. Mounted at `/patch/...` and `/v1/...`; `/` answers
 * "Titanium Cloud Patching API, Available versions: /v1".
 *
 * Answers follow the reference: most refusals are HTTP 200 with the text inside the JSON
 * (`{"info","warning","error"}`, `{"error": "Error: <msg>"}` for what the reference raises, upload
 * errors without the prefix); HTTP 4xx only for what the reference never sees (no or bad token,
 * wrong role, hostile paths/names/bodies, unknown actions); 500 only for real internal errors.
 *
 * Auth: the one authenticate of the HTTP layer (server/transport/http/authenticate.ts):
 * `X-Auth-Token` (or `Authorization: Bearer`) carries a controller token (same tokens and roles as
 * gRPC: each endpoint requires the role of the equivalent RPC in RPC_POLICY; upload_dir is admin
 * because it reads server paths), or a token of the external verifier (Keystone) when configured.
 * With `localTrust` (only on a loopback listener) a caller without a valid token is the local
 * admin, as on the reference's 127.0.0.1:5487. Operator/admin endpoints and refusals are audited
 * like their RPCs (action = RPC method name, detail starts with "rest").
 */
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import type { HostManager } from "../../domain/hosts/host-manager.js";
import type { Caller } from "../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { Logger } from "../../lib/log.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";
import { HttpError, PATCH_API_ERRORS } from "../http/errors.js";
import { createHttpServer, type HttpTls } from "../http/server.js";
import { Routes } from "../http/target.js";
import { discardBody } from "../http/body.js";
import { sendJson, sendText } from "../http/answer.js";
import { isLoopbackAddress } from "../http/authenticate.js";
import type { HttpListenerLimits } from "../http/limits.js";
import { createPatchApiAuth, targetOf } from "./patch-api/auth.js";
import { type Answer, type Ctx, type Meta, P, type RouteFn } from "./patch-api/common.js";
import { registerHostRoutes } from "./patch-api/hosts.js";
import { registerAppDependencyReportRoute, registerApplyRemoveRoutes, registerCommitRoutes, registerReleaseRoutes } from "./patch-api/lifecycle.js";
import { queryAnswer, registerAppDependencyQueryRoute, registerDependencyRoutes, registerQueryRoutes } from "./patch-api/query.js";
import { registerUploadRoutes } from "./patch-api/upload.js";

export { hostOf, metaOf } from "./patch-api/reference-json.js";

export const ROOT_TEXT = "Titanium Cloud Patching API, Available versions: /v1";

/** Options of {@link createPatchApiServer}. */
export interface PatchApiOptions {
  patches: PatchManager;
  hosts: HostManager;
  /** Resolves a token to its caller (AuthManager); throws DomainError unauthenticated. */
  auth: { verify(token: string): Promise<Caller> };
  /** Tokens that are not ours (Keystone); a token it refuses is refused. */
  externalTokens?: ExternalTokenVerifier | undefined;
  /** Serve https with these (the controller's --tls-* files). */
  tls?: HttpTls | undefined;
  /** Where operator/admin calls are recorded (AuditLog). */
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log: Logger;
  /**
   * Loopback callers without a valid token are the local admin (the reference's unauthenticated
   * 127.0.0.1:5487). listen() refuses it on a non-loopback address. Default false.
   */
  localTrust?: boolean;
  /** Largest accepted upload request, bytes (multipart overhead included). Default 4 GiB. */
  maxUploadBytes?: number;
  /** Largest body accepted (and ignored) by the other endpoints. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Timeouts and connection caps of the listener (default DEFAULT_HTTP_LIMITS). */
  limits?: HttpListenerLimits;
  /** A controller pair's standby text (HttpServerOptions.standby). */
  standby?: () => string | undefined;
}

export interface PatchApiServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Creates the patching API server (not yet listening). */
export function createPatchApiServer(o: PatchApiOptions): PatchApiServer {
  const { patches, hosts, log } = o;
  const localTrust = !!o.localTrust;
  const maxUpload = o.maxUploadBytes ?? 4 * 1024 ** 3;
  const maxBody = o.maxBodyBytes ?? 64 * 1024;
  const router = new Routes<Caller, Meta>();
  const { writeAudit, authenticate, precheck } = createPatchApiAuth({
    auth: o.auth,
    externalTokens: o.externalTokens,
    ...(o.audit ? { audit: o.audit } : {}),
    log,
    localTrust,
  });

  const route: RouteFn = (methods, action, meta, fn, opts = {}) => {
    const handler = async (ctx: Ctx) => {
      if (!opts.keepBody) await discardBody(ctx.req, maxBody);
      const audited = isAuditedRequirement(meta.requirement);
      const target = opts.target?.(ctx) ?? targetOf(ctx);
      let a: Answer;
      try {
        a = await fn(ctx);
      } catch (e) {
        if (audited)
          await writeAudit(ctx, ctx.caller!.tokenId, ctx.caller!.role, e instanceof HttpError ? `HTTP_${e.status}` : "INTERNAL", target, (e as Error).message ?? "");
        throw e;
      }
      if (audited) await writeAudit(ctx, ctx.caller!.tokenId, ctx.caller!.role, a.outcome ?? "ok", target, a.detail ?? "");
      if (ctx.signal.aborted) return; // the client left; nothing to answer
      sendJson(ctx.res, a.status ?? 200, a.body);
    };
    for (const prefix of ["patch", "v1"]) router.add(methods, `/${prefix}/${action}/*rest`, meta, handler);
  };

  // ---- root and index
  router.add(["GET", "POST", "HEAD"], "/", { action: "Root", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, maxBody);
    sendText(ctx.res, 200, ROOT_TEXT, "text/html; charset=utf-8");
  });
  for (const prefix of ["patch", "v1"]) {
    router.add(["GET", "POST"], `/${prefix}`, { action: "QueryPatches", requirement: P("QueryPatches") }, async (ctx) => {
      await discardBody(ctx.req, maxBody);
      sendJson(ctx.res, 200, queryAnswer(patches, ctx).body);
    });
  }

  // Registered in the order the endpoints were always registered (the router tries them in order;
  // no two actions overlap).
  registerQueryRoutes(route, patches);
  registerApplyRemoveRoutes(route, patches);
  registerDependencyRoutes(route, patches);
  registerHostRoutes(route, patches, hosts);
  registerCommitRoutes(route, patches);
  registerAppDependencyReportRoute(route, patches);
  registerAppDependencyQueryRoute(route, patches);
  registerReleaseRoutes(route, patches);
  registerUploadRoutes(route, patches, maxUpload);

  const server = createHttpServer<Caller, Meta>({
    routes: router,
    log,
    errors: PATCH_API_ERRORS,
    authenticate,
    precheck,
    notFound: (segs) => new HttpError(404, "Not found", { error: `Unknown action: ${segs.slice(0, 2).join("/").slice(0, 128)}` }),
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.standby ? { standby: o.standby } : {}),
    longBody: (ctx) => ctx.route.meta.action === "UploadPatch",
  });

  return {
    async listen(host, port) {
      if (localTrust && !isLoopbackAddress(host)) {
        throw new Error(`--patch-api-local-trust needs a loopback listen address, got ${host}`);
      }
      const a = await server.listen(host, port);
      log.info("patch api listening", { address: `${a.address}:${a.port}`, localTrust, tls: !!o.tls });
      return a;
    },
    close: () => server.close(),
  };
}
