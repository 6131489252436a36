/**
 * The VIM REST API for the sw-patch strategy (spec orchestration §3) on the one HTTP layer
 * (server/transport/http/): GET/POST/DELETE `/api/orchestration/{sw-patch,sw-update}/strategy`,
 * GET `…/strategy/{uuid}`, POST `…/strategy/actions`, GET `/api/orchestration`,
 * `/api/orchestration/sw-patch` and `/api/orchestration/current-strategy/strategy`. Reference JSON
 * with hyphenated keys; errors are `{"faultcode", "faultstring", "debuginfo"}` JSON with the
 * reference's status codes (apply/abort rejections are 500 as in the reference, with the reason in
 * faultstring).
 *
 * Auth: the one authenticate (`X-Auth-Token` or `Authorization: Bearer`: our tokens, or the
 * external verifier's, e.g. Keystone); reads need reader, the rest operator (the roles of the
 * equivalent OrchestrationService RPCs). Every refusal is 403 "Authorization failed" (the
 * reference's text) with our reason in debuginfo. With `localTrust` (loopback listener and peer
 * only) a call without a token, or with a token we do not know, is the local admin — so the
 * reference `sw-manager`, which always sends a Keystone token, works against a loopback VIM — but
 * a token the external verifier refuses is refused. Every call is audited, reads and refusals
 * included (detail "vim ..."); the identity service being unreachable is a 503, audited UNAVAILABLE.
 */
import { isDomainError } from "../domain/errors.js";
import type { Orchestrator } from "../domain/orchestration/orchestrator.js";
import { roleSatisfies, type Caller, type Role } from "../domain/auth/roles.js";
import type { AuditRecord } from "../domain/auth/audit-log.js";
import type { ExternalTokenVerifier } from "../domain/auth/external-token.js";
import type { Logger } from "../lib/log.js";
import { createLogger } from "../lib/log.js";
import { rehearsalToJson, strategyToReferenceJson } from "./mappers/strategy.js";
import { DEFAULT_HTTP_LIMITS, type HttpLimitStats, type HttpListenerLimits } from "./http/limits.js";
import { HttpError, VIM_ERRORS } from "./http/errors.js";
import { createHttpServer, type HttpTls } from "./http/server.js";
import { Routes, type RequestContext } from "./http/target.js";
import { readBody } from "./http/body.js";
import { sendJson } from "./http/answer.js";
import { AuthRefusal, createAuthenticate } from "./http/authenticate.js";
import { createHttpAudit } from "./http/audit.js";
import { isLoopbackHost } from "./tls.js";
import { parseCreateBody, parsePlanHash, parseRehearseBody, parseRolloutBody, parseStageId } from "./vim-rest-bodies.js";

/** What a request wants to do: its role and audit action. */
export type VimRestAction = "read" | "create" | "delete" | "apply" | "abort" | "rehearse" | "pause" | "resume";

/** Options of {@link createVimRestServer}. */
export interface VimRestOptions {
  orchestrator: Orchestrator;
  /** `host:port` to listen on; port 0 picks a free port. The reference VIM uses 4545. */
  listen: string;
  /** Our tokens (AuthManager); throws DomainError unauthenticated for a token it refuses. */
  auth: { verify(token: string): Promise<Caller> };
  /** Tokens that are not ours (Keystone); a token it refuses is refused, even under local trust. */
  externalTokens?: ExternalTokenVerifier | undefined;
  /** Where calls that change something and refusals are recorded (AuditLog). */
  audit?: { record(r: AuditRecord): Promise<unknown> };
  /** Loopback callers without a token we know are the local admin (--vim-local-trust). Default false. */
  localTrust?: boolean;
  /** Serve https with these (the controller's --tls-* files). */
  tls?: HttpTls | undefined;
  /** Largest accepted request body, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Timeouts and connection caps of the listener (default DEFAULT_HTTP_LIMITS). */
  limits?: HttpListenerLimits;
  /** A controller pair's standby text (HttpServerOptions.standby). */
  standby?: () => string | undefined;
  log?: Logger;
}

/** A listening VIM REST server. */
export interface VimRestServer {
  readonly address: string;
  readonly port: number;
  /** Connections refused by a cap and cut by a timeout so far. */
  readonly limitStats: HttpLimitStats;
  close(): Promise<void>;
}

const ROOT = "/api/orchestration";
/** sw-patch is the reference path; sw-update is the seed document's alias (spec §0). */
const TYPES = ["sw-patch", "sw-update"] as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** webob's HTTPConflict text: what the reference answers a refused delete with (409, no reason of its own). */
export const WEBOB_CONFLICT = "There was a conflict when trying to complete your request.";

const ACTIONS: Record<VimRestAction, { rpc: string; role: Role }> = {
  read: { rpc: "GetStrategy", role: "reader" },
  create: { rpc: "CreateStrategy", role: "operator" },
  delete: { rpc: "DeleteStrategy", role: "operator" },
  apply: { rpc: "ApplyStrategy", role: "operator" },
  abort: { rpc: "AbortStrategy", role: "operator" },
  rehearse: { rpc: "RehearseStrategy", role: "operator" },
  // ROLLOUT (issue 20)
  pause: { rpc: "PauseStrategy", role: "operator" },
  resume: { rpc: "ResumeStrategy", role: "operator" },
};

type Meta = { action: VimRestAction };
type Ctx = RequestContext<Caller, Meta>;

const notFound = () => new HttpError(404, "The resource could not be found.");
const denied = (reason: string) => new HttpError(403, "Authorization failed", undefined, undefined, reason);

/** Creates and starts the VIM REST server. */
export async function createVimRestServer(o: VimRestOptions): Promise<VimRestServer> {
  const maxBody = o.maxBodyBytes ?? 65536;
  const orch = o.orchestrator;
  const log = o.log ?? createLogger({ level: "silent" });
  const localTrust = !!o.localTrust;
  const audit = createHttpAudit(o.audit, log);
  const authenticateRequest = createAuthenticate({ auth: o.auth, externalTokens: o.externalTokens, log });
  const routes = new Routes<Caller, Meta>();

  const writeAudit = (ctx: Ctx, action: VimRestAction, actor: string, role: string, outcome: string, detail: string) =>
    audit({
      api: "vim",
      req: ctx.req,
      path: `/${ctx.segments.join("/")}`.slice(0, 128),
      action: ACTIONS[action].rpc,
      actor,
      role,
      target: "strategy=sw-patch",
      outcome,
      detail,
      refused: outcome === "UNAUTHENTICATED" || outcome === "PERMISSION_DENIED",
    });

  /** The caller may do `action`, or a 403 (audited). Runs before any body is read. */
  async function guard(ctx: Ctx, action: VimRestAction): Promise<Caller> {
    let caller: Caller;
    try {
      caller = (await authenticateRequest(ctx.req, { localTrust }, ctx.signal)).caller;
    } catch (e) {
      if (!(e instanceof AuthRefusal)) throw e;
      if (e.reason === "unavailable") {
        // The identity service (Keystone) could not be asked: refused, and 503 so that the client may retry.
        await writeAudit(ctx, action, e.actor, "", "UNAVAILABLE", e.message);
        throw new HttpError(503, "Service Unavailable", undefined, { "retry-after": "10" }, e.message);
      }
      await writeAudit(ctx, action, e.actor, "", "UNAUTHENTICATED", e.message);
      throw denied(e.message);
    }
    if (!roleSatisfies(caller.role, ACTIONS[action].role)) {
      const message = `role ${caller.role} may not call ${ACTIONS[action].rpc}`;
      await writeAudit(ctx, action, caller.tokenId, caller.role, "PERMISSION_DENIED", message);
      throw denied(message);
    }
    // Reads are audited when allowed (changes get their row with the outcome, in `audited`). A read's row is
    // not waited for: it changes nothing, and waiting for its commit made reads ~12x slower under load
    // (`npm run bench -- http`, docs/benchmarks.md). The row is queued now, in call order; its writer never throws.
    if (action === "read") void writeAudit(ctx, action, caller.tokenId, caller.role, "ok", "");
    return caller;
  }

  /** Runs a call that changes something, with its audit row. */
  async function audited<T>(ctx: Ctx, action: VimRestAction, caller: Caller, fn: () => Promise<T>, detail = ""): Promise<T> {
    try {
      const r = await fn();
      await writeAudit(ctx, action, caller.tokenId, caller.role, "ok", detail);
      return r;
    } catch (e) {
      const outcome = isDomainError(e) ? e.kind.toUpperCase().replace(/-/g, "_") : e instanceof HttpError ? `HTTP_${e.status}` : "INTERNAL";
      await writeAudit(ctx, action, caller.tokenId, caller.role, outcome, (e as Error)?.message ?? "");
      throw e;
    }
  }

  async function body(ctx: Ctx): Promise<unknown> {
    let buf: Buffer;
    try {
      buf = await readBody(ctx.req, maxBody);
    } catch (e) {
      if (e instanceof HttpError && e.status === 413) throw new HttpError(413, `request body larger than ${maxBody} bytes`);
      throw e;
    }
    const text = buf.toString("utf8").trim();
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, "request body is not valid JSON");
    }
  }

  const send = (ctx: Ctx, status: number, payload?: unknown) => {
    if (payload !== undefined) return sendJson(ctx.res, status, payload);
    ctx.res.writeHead(status, { "cache-control": "no-store" });
    ctx.res.end();
  };
  const base = (ctx: Ctx) => `${tls ? "https" : "http"}://${ctx.req.headers.host ?? "localhost"}`;
  const links = (ctx: Ctx, rels: [string, string][]) => rels.map(([rel, path]) => ({ href: `${base(ctx)}${path}`, rel }));
  const typeOf = (ctx: Ctx) => {
    const t = ctx.params.type!;
    if (!(TYPES as readonly string[]).includes(t)) throw notFound();
    return t;
  };

  routes.add(["GET"], ROOT, { action: "read" }, async (ctx) => {
    await guard(ctx, "read");
    send(ctx, 200, { id: "orchestration", links: links(ctx, [["self", `${ROOT}/`], ...TYPES.map((t): [string, string] => [t, `${ROOT}/${t}/`])]) });
  });
  routes.add(["GET"], `${ROOT}/current-strategy/strategy`, { action: "read" }, async (ctx) => {
    await guard(ctx, "read");
    const s = orch.current();
    send(ctx, 200, { strategy: s ? { name: s.name, state: s.state } : null });
  });
  routes.add(["GET"], `${ROOT}/:type`, { action: "read" }, async (ctx) => {
    const type = typeOf(ctx);
    await guard(ctx, "read");
    send(ctx, 200, {
      id: type,
      links: links(ctx, [
        ["self", `${ROOT}/${type}/`],
        ["strategy", `${ROOT}/${type}/strategy/`],
      ]),
    });
  });
  routes.add(["POST"], `${ROOT}/:type/strategy/actions`, { action: "apply" }, async (ctx) => {
    typeOf(ctx);
    // Credentials before the body: apply and abort need the same role, checked again below
    // for the action the body names.
    const caller = await guard(ctx, "apply");
    const b = await body(ctx);
    if (!b || typeof b !== "object" || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
    const rec = b as Record<string, unknown>;
    const action = rec.action;
    // ROLLOUT (issue 20): {"action": "pause"} and {"action": "resume"}.
    if (action === "pause" || action === "resume") {
      const s = await audited(ctx, action, caller, () => (action === "pause" ? orch.pause() : orch.resume()), action).catch((e: unknown) => {
        // Refused in this state: 500 with the reason, as the reference answers a refused apply/abort.
        throw isDomainError(e) && e.kind === "failed-precondition" ? new HttpError(500, e.message) : e;
      });
      send(ctx, 202, { strategy: strategyToReferenceJson(s) });
      return;
    }
    if (action !== "apply-all" && action !== "apply-stage" && action !== "abort" && action !== "abort-stage") {
      throw new HttpError(400, `Invalid value for action: ${JSON.stringify(action ?? null)}`);
    }
    if ((action === "apply-stage" || action === "abort-stage") && !("stage-id" in rec)) throw new HttpError(400, "No stage-id received");
    const stageId = parseStageId(rec["stage-id"]);
    const kind = action.startsWith("apply") ? "apply" : "abort";
    if (kind === "abort") await guard(ctx, "abort");
    const detail = `${action}${stageId !== undefined ? ` stage ${stageId}` : ""}`;
    // PLAN: "plan_hash" beside the reference's keys (apply only).
    const planHash = kind === "apply" ? parsePlanHash(rec.plan_hash) : undefined;
    const s = await audited(ctx, kind, caller, () => (kind === "apply" ? applyWithPlanHash(stageId, planHash) : orch.abort(stageId)), detail);
    send(ctx, 202, { strategy: strategyToReferenceJson(s) });
  });
  /** PLAN: apply; a drifted plan is the reference's 500 with the drift named in faultstring. */
  async function applyWithPlanHash(stageId: number | undefined, planHash: string | undefined) {
    try {
      return await orch.apply(stageId, planHash);
    } catch (e) {
      if (isDomainError(e) && e.reason === "PLAN_DRIFTED") throw new HttpError(500, e.message);
      throw e;
    }
  }
  // PLAN: POST …/strategy/rehearse {"fail_rate", "runs", "seed"} → the rehearsal report (snake_case keys).
  routes.add(["POST"], `${ROOT}/:type/strategy/rehearse`, { action: "rehearse" }, async (ctx) => {
    typeOf(ctx);
    const caller = await guard(ctx, "rehearse");
    const options = parseRehearseBody(await body(ctx));
    const r = await audited(ctx, "rehearse", caller, () => orch.rehearse({ ...options, signal: ctx.signal }));
    send(ctx, 200, { rehearsal: rehearsalToJson(r) });
  });
  routes.add(["GET"], `${ROOT}/:type/strategy/:uuid`, { action: "read" }, async (ctx) => {
    typeOf(ctx);
    const sub = ctx.params.uuid!;
    if (!UUID_RE.test(sub)) throw new HttpError(400, `Invalid strategy uuid: ${sub}`);
    await guard(ctx, "read");
    const s = orch.current();
    if (!s || s.uuid !== sub) throw new HttpError(404, `Strategy ${sub} not found`);
    send(ctx, 200, { strategy: strategyToReferenceJson(s) });
  });
  routes.add(["GET"], `${ROOT}/:type/strategy`, { action: "read" }, async (ctx) => {
    typeOf(ctx);
    await guard(ctx, "read");
    const s = orch.current();
    send(ctx, 200, { strategy: s ? strategyToReferenceJson(s) : null });
  });
  routes.add(["POST"], `${ROOT}/:type/strategy`, { action: "create" }, async (ctx) => {
    typeOf(ctx);
    const caller = await guard(ctx, "create");
    const raw = await body(ctx);
    const options = parseCreateBody(raw);
    const s = await audited(ctx, "create", caller, () => orch.create(options, parseRolloutBody(raw)));
    send(ctx, 200, { strategy: strategyToReferenceJson(s) });
  });
  routes.add(["DELETE"], `${ROOT}/:type/strategy`, { action: "delete" }, async (ctx) => {
    typeOf(ctx);
    const caller = await guard(ctx, "delete");
    const b = await body(ctx);
    let force = false;
    if (b !== undefined) {
      if (typeof b !== "object" || b === null || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
      const f = (b as Record<string, unknown>).force;
      if (f !== undefined && typeof f !== "boolean") throw new HttpError(400, "Invalid value for force");
      force = f === true;
    }
    await audited(
      ctx,
      "delete",
      caller,
      async () => {
        try {
          await orch.delete(force);
        } catch (e) {
          if (isDomainError(e) && e.kind === "failed-precondition") throw new HttpError(409, WEBOB_CONFLICT, undefined, undefined, e.message);
          throw e;
        }
      },
      force ? "force" : "",
    );
    send(ctx, 204);
  });

  const tls = !!o.tls;
  const server = createHttpServer<Caller, Meta>({
    routes,
    log,
    errors: VIM_ERRORS,
    notFound,
    requestTimeoutMs: 60_000,
    limits: o.limits ?? DEFAULT_HTTP_LIMITS,
    ...(o.standby ? { standby: o.standby } : {}),
    closeAtOnce: true,
    ...(o.tls ? { tls: o.tls } : {}),
  });
  const { host, port } = parseListen(o.listen);
  if (localTrust && !isLoopbackHost(host)) throw new Error(`--vim-local-trust needs a loopback listen address, got ${host}`);
  const a = await server.listen(host, port);
  const shownHost = a.address.includes(":") ? `[${a.address}]` : a.address;
  log.info("vim rest listening", { address: `${shownHost}:${a.port}`, localTrust, tls });
  return {
    address: `${shownHost}:${a.port}`,
    port: a.port,
    limitStats: server.limitStats,
    close: () => server.close(),
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`vim listen: expected HOST:PORT, got "${listen}"`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port: Number(m[3]) };
}
