/**
 * The web console's HTTP server: the built single-page app (static files), its JSON API under
 * `/api/...` and live updates as server-sent events at `/api/events`, all on one origin, over
 * the same domain objects as gRPC and the REST API.
 *
 * Auth: the one authenticate of the HTTP layer (server/transport/http/authenticate.ts), with the
 * same tokens and roles as the CLIs (and the external verifier's, e.g. Keystone, when configured).
 * `POST /api/session {"token"}` verifies the token and sets an HttpOnly, SameSite=Strict session
 * cookie (the session holds the token; every request verifies it again, so a revoked token stops
 * working at once). `Authorization: Bearer <token>` and `X-Auth-Token` work too (scripts) and win
 * over the cookie. Every API route needs the role of the equivalent RPC in RPC_POLICY;
 * operator/admin calls, refusals and refused sign-ins are audited (detail starts with "web").
 *
 * CSRF: requests that change state must carry `X-SW-Patch-Console: 1` (a custom header a foreign
 * page cannot send without a CORS preflight, which is never granted) and, when the browser sends
 * an Origin, it must be this server's own.
 *
 * Live events: `GET /api/events` streams the event log (`id:` = event sequence, so the browser's
 * reconnect sends Last-Event-ID and resumes with what it missed) plus id-less `strategy` snapshots
 * after every change of the orchestration strategy.
 */
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import type { HostManager } from "../../domain/hosts/host-manager.js";
import type { Orchestrator } from "../../domain/orchestration/orchestrator.js";
import type { EventLog } from "../../domain/events/event-log.js";
import { isDomainError } from "../../domain/errors.js";
import type { ExternalTokenVerifier } from "../../domain/auth/external-token.js";
import { roleSatisfies, type Caller, type Role } from "../../domain/auth/roles.js";
import { isAuditedRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { Logger } from "../../lib/log.js";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import { CONSOLE_ERRORS, HttpError } from "../http/errors.js";
import { createHttpServer, type HttpTls } from "../http/server.js";
import { Routes } from "../http/target.js";
import { discardBody } from "../http/body.js";
import { sendJson } from "../http/answer.js";
import type { HttpListenerLimits } from "../http/limits.js";
import { createConsoleAuth } from "./console-auth.js";
import { type ApiFn, cliError, CONSOLE_ACTIONS, type Ctx, jsonBody, MAX_JSON, type Meta, methodOf, refusal, rpcRequirement, targetOf } from "./console-common.js";
import { ConsoleSessions, ConsoleSessionsFullError } from "./console-sessions.js";
import { registerEventStream } from "./event-stream.js";
import { registerHostRoutes } from "./host-routes.js";
import { registerPatchRoutes } from "./patch-routes.js";
import { createStaticFiles } from "./static-files.js";
import { registerStrategyRoutes } from "./strategy-routes.js";

export { CONSOLE_ACTIONS } from "./console-common.js";

export interface WebConsoleOptions {
  patches: PatchManager;
  hosts: HostManager;
  orchestrator: Orchestrator;
  events: EventLog;
  /** Resolves a token to its caller (AuthManager). */
  auth: { verify(token: string): Promise<Caller> };
  /** Tokens that are not ours (Keystone); a token it refuses is refused. */
  externalTokens?: ExternalTokenVerifier | undefined;
  /** Serve https with these (the controller's --tls-* files). */
  tls?: HttpTls | undefined;
  /** Where operator/admin calls are recorded (AuditLog). */
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log: Logger;
  /** The built console (Vite output), e.g. dist/web. */
  staticDir: string;
  /** Largest upload request, bytes (all files of one request). Default 4 GiB + 1 MiB. */
  maxUploadBytes?: number;
  /** Seconds between SSE heartbeats (and token re-checks). Default 15. */
  heartbeatSeconds?: number;
  /** Timeouts and connection caps of the listener (default DEFAULT_HTTP_LIMITS). */
  limits?: HttpListenerLimits;
  /** A controller pair's standby text (HttpServerOptions.standby). */
  standby?: () => string | undefined;
  /** Session caps: in all (sign-in refused beyond it) and per token (its oldest closed). Defaults 1000 and 20. */
  sessionLimits?: { maxSessions?: number; maxPerToken?: number };
}

export interface WebConsoleServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Creates the web console's server (not yet listening). */
export function createWebConsoleServer(o: WebConsoleOptions): WebConsoleServer {
  const { patches, hosts, orchestrator, events, log } = o;
  const maxUpload = o.maxUploadBytes ?? 4 * 1024 ** 3 + 1024 * 1024;
  const heartbeatMs = (o.heartbeatSeconds ?? 15) * 1000;
  const router = new Routes<Caller, Meta>();
  const statics = createStaticFiles(o.staticDir);
  const sessions = new ConsoleSessions(o.sessionLimits);
  const streams = new Set<AbortController>();
  const { authenticate, signIn, stillSignedIn, writeAudit } = createConsoleAuth({
    auth: o.auth,
    externalTokens: o.externalTokens,
    ...(o.audit ? { audit: o.audit } : {}),
    log,
    sessions,
  });

  const permissionsOf = (role: Role) => {
    const out: Record<string, boolean> = {};
    for (const [k, path] of Object.entries(CONSOLE_ACTIONS)) out[k] = roleSatisfies(role, rpcRequirement(path) as Role);
    return out;
  };

  const api: ApiFn = (methods, pattern, rpcPath, fn, opts = {}) => {
    const meta: Meta = rpcPath === "public" ? { action: "ConsoleSession", requirement: "public" } : { action: methodOf(rpcPath), requirement: rpcRequirement(rpcPath) };
    router.add(methods, pattern, meta, async (ctx: Ctx) => {
      if (ctx.method === "GET" && !opts.keepBody) await discardBody(ctx.req, MAX_JSON);
      const audited = isAuditedRequirement(meta.requirement);
      let a: Awaited<ReturnType<typeof fn>>;
      try {
        a = await fn(ctx);
      } catch (e) {
        let err = e;
        if (isDomainError(e)) err = refusal(e, (opts.wording ?? cliError)(e, ctx));
        if (audited) {
          const outcome = isDomainError(e) ? e.kind.toUpperCase().replace(/-/g, "_") : e instanceof HttpError ? `HTTP_${e.status}` : "INTERNAL";
          await writeAudit(ctx, outcome, targetOf(ctx), (e as Error)?.message ?? "");
        }
        throw err;
      }
      if (audited) await writeAudit(ctx, "ok", a.target ?? targetOf(ctx), a.detail ?? "");
      if (ctx.signal.aborted) return;
      sendJson(ctx.res, a.status ?? 200, a.body);
    });
  };

  // ------------------------------------------------------------------ session

  const sessionBody = (caller: Caller) => ({
    tokenId: caller.tokenId,
    role: caller.role,
    release: patches.runningRelease,
    permissions: permissionsOf(caller.role),
  });

  api(["POST"], "/api/session", "public", async (ctx) => {
    const body = await jsonBody(ctx);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    if (!token) throw new HttpError(400, "token required", { error: "Enter a token" });
    const caller = await signIn(ctx, token);
    let cookie: string;
    try {
      cookie = sessions.open(token, caller.tokenId || token);
    } catch (e) {
      if (!(e instanceof ConsoleSessionsFullError)) throw e;
      throw new HttpError(503, e.message, { error: `Sign-in refused: ${e.message}` }, { "retry-after": "60" });
    }
    ctx.res.setHeader("set-cookie", cookie);
    return { body: sessionBody(caller) };
  });

  router.add(["GET"], "/api/session", { action: "GetControllerInfo", requirement: "reader" }, async (ctx) => {
    sendJson(ctx.res, 200, sessionBody(ctx.caller!));
  });

  router.add(["DELETE"], "/api/session", { action: "ConsoleSignOut", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    ctx.res.setHeader("set-cookie", sessions.close(ctx.cookies));
    sendJson(ctx.res, 200, { ok: true });
  });

  // ------------------------------------------------------------------ patches, hosts, orchestration, live events

  registerPatchRoutes(api, patches, maxUpload);
  registerHostRoutes(api, hosts);
  registerStrategyRoutes(api, orchestrator);
  registerEventStream(router, { events, orchestrator, stillSignedIn, log, heartbeatMs, streams });

  // ------------------------------------------------------------------ everything else

  router.add(["GET", "POST", "PUT", "PATCH", "DELETE"], "/api/*rest", { action: "Unknown", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    sendJson(ctx.res, 404, { error: `Unknown console API path /${ctx.segments.join("/").slice(0, 128)}` });
  });
  router.add(["GET", "HEAD"], "/*path", { action: "Static", requirement: "public" }, async (ctx) => {
    await statics.serve(ctx.reply, ctx.rest);
  });

  // Uploads may take hours over a slow link (requestTimeout); every other body must arrive within
  // the small-body timeout, and any request that stops sending is cut by the idle timeout.
  const server = createHttpServer<Caller, Meta>({
    routes: router,
    log,
    errors: CONSOLE_ERRORS,
    authenticate,
    requestTimeoutMs: 6 * 3600_000,
    native: (route) => route.meta.action === "Static",
    plugins: async (app) => {
      await app.register(fastifyCookie);
      await app.register(fastifyStatic, { root: statics.root, serve: false });
      statics.install(app);
    },
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.standby ? { standby: o.standby } : {}),
    longBody: (ctx) => ctx.route.meta.action === "UploadPatch",
  });

  return {
    async listen(host, port) {
      const a = await server.listen(host, port);
      log.info("web console listening", { address: `${a.address}:${a.port}`, staticDir: o.staticDir, tls: !!o.tls });
      return a;
    },
    async close() {
      for (const s of streams) s.abort();
      await server.close();
      sessions.clear();
    },
  };
}
