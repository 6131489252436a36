/**
 * The web console's HTTP server: the built single-page app (static files), its JSON API under
 * `/api/...` and live updates as server-sent events at `/api/events`, all on one origin, over
 * the same domain objects as gRPC and the REST API.
 *
 * Auth: the same tokens and roles as the CLIs. `POST /api/session {"token"}` verifies the token
 * and sets an HttpOnly, SameSite=Strict session cookie (the session holds the token; every request
 * verifies it again, so a revoked token stops working at once). `Authorization: Bearer <token>`
 * works too (scripts). Every API route needs the role of the equivalent RPC in RPC_POLICY;
 * operator/admin calls are audited like their RPCs (detail starts with "web").
 *
 * CSRF: requests that change state must carry `X-SW-Patch-Console: 1` (a custom header a foreign
 * page cannot send without a CORS preflight, which is never granted) and, when the browser sends
 * an Origin, it must be this server's own.
 *
 * Live events: `GET /api/events` streams the event log (`id:` = event sequence, so the browser's
 * reconnect sends Last-Event-ID and resumes with what it missed) plus id-less `strategy` snapshots
 * after every change of the orchestration strategy.
 */
import { randomBytes } from "node:crypto";
import { applyMessages, commitMessages, deleteMessages, removeMessages, uploadMessages } from "../mappers/patch-messages.js";
import type * as http from "node:http";
import { isDomainError, type DomainError } from "../../domain/errors.js";
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import type { HostManager } from "../../domain/hosts/host-manager.js";
import type { Orchestrator } from "../../domain/orchestration/orchestrator.js";
import type { StrategyOptions } from "../../domain/orchestration/model.js";
import type { EventLog } from "../../domain/events/event-log.js";
import { roleSatisfies, type Caller, type Role } from "../../domain/auth/roles.js";
import { RPC_POLICY, isAuditedRequirement, type RpcRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import type { Logger } from "../../lib/log.js";
import {
  HttpError,
  Router,
  badRequest,
  bodyStream,
  createHttpServer,
  discardBody,
  drain,
  multipartBoundary,
  parseMultipart,
  readBody,
  sendJson,
  type RequestContext,
} from "../rest/http.js";
import { checkUploadFileName } from "../rest/patch-api.js";
import { createStaticFiles } from "./static-files.js";
import { eventView, hostView, installView, patchDetails, patchSummary, strategyView, type InstallView } from "./views.js";

export interface WebConsoleOptions {
  patches: PatchManager;
  hosts: HostManager;
  orchestrator: Orchestrator;
  events: EventLog;
  /** Resolves a token to its caller (AuthManager). */
  auth: { verify(token: string): Promise<Caller> };
  /** Where operator/admin calls are recorded (AuditLog). */
  audit?: { record(r: AuditRecord): Promise<unknown> };
  log: Logger;
  /** The built console (Vite output), e.g. dist/web. */
  staticDir: string;
  /** Largest upload request, bytes (all files of one request). Default 4 GiB + 1 MiB. */
  maxUploadBytes?: number;
  /** Seconds between SSE heartbeats (and token re-checks). Default 15. */
  heartbeatSeconds?: number;
}

export interface WebConsoleServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Route metadata: the equivalent RPC method (role and audit action). */
interface Meta {
  action: string;
  requirement: RpcRequirement;
}
type Ctx = RequestContext<Caller, Meta>;

/** Which console action needs which RPC's role (the same table the gRPC middleware uses). */
export const CONSOLE_ACTIONS = {
  upload: "/swpatch.v1.PatchService/UploadPatch",
  apply: "/swpatch.v1.PatchService/ApplyPatches",
  remove: "/swpatch.v1.PatchService/RemovePatches",
  delete: "/swpatch.v1.PatchService/DeletePatches",
  commit: "/swpatch.v1.PatchService/CommitPatches",
  install: "/swpatch.v1.HostService/InstallHostAsync",
  lock: "/swpatch.v1.HostService/LockHost",
  unlock: "/swpatch.v1.HostService/UnlockHost",
  createStrategy: "/swpatch.v1.OrchestrationService/CreateStrategy",
  applyStrategy: "/swpatch.v1.OrchestrationService/ApplyStrategy",
  abortStrategy: "/swpatch.v1.OrchestrationService/AbortStrategy",
  deleteStrategy: "/swpatch.v1.OrchestrationService/DeleteStrategy",
} as const;

const COOKIE = "swp_console";
const CSRF_HEADER = "x-sw-patch-console";
const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;
const MAX_JSON = 64 * 1024;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^[A-Za-z0-9:._\[\]-]{1,253}$/;
const RELEASE_RE = /^[A-Za-z0-9._-]{1,64}$/;

const req = (path: string): RpcRequirement => {
  const r = RPC_POLICY[path];
  if (!r) throw new Error(`web console: ${path} missing from RPC_POLICY`);
  return r;
};
const methodOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

const STATUS_OF_KIND: Record<string, number> = {
  "invalid-argument": 400,
  "not-found": 404,
  "already-exists": 409,
  "failed-precondition": 409,
  "permission-denied": 403,
  unauthenticated: 401,
  "resource-exhausted": 413,
  aborted: 409,
  unavailable: 503,
};

/** A domain refusal as the answer the browser shows: `{error, reason}` with the CLI's words. */
function refusal(e: DomainError, text: string): HttpError {
  const status = STATUS_OF_KIND[e.kind] ?? 500;
  return new HttpError(status, e.message, { error: status === 500 ? "Error: internal error" : text, reason: e.reason });
}

const cliError = (e: DomainError) => `Error: ${e.message.replace(/\n+$/, "")}`;

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

export function createWebConsoleServer(o: WebConsoleOptions): WebConsoleServer {
  const { patches, hosts, orchestrator, events, log } = o;
  const maxUpload = o.maxUploadBytes ?? 4 * 1024 ** 3 + 1024 * 1024;
  const heartbeatMs = (o.heartbeatSeconds ?? 15) * 1000;
  const router = new Router<Caller, Meta>();
  const statics = createStaticFiles(o.staticDir);
  const sessions = new Map<string, { token: string; lastUsed: number }>();
  const streams = new Set<AbortController>();

  const permissionsOf = (role: Role) => {
    const out: Record<string, boolean> = {};
    for (const [k, path] of Object.entries(CONSOLE_ACTIONS)) out[k] = roleSatisfies(role, req(path) as Role);
    return out;
  };

  const writeAudit = async (ctx: Ctx, outcome: string, target: string, detail: string) => {
    if (!o.audit || !ctx.caller) return;
    try {
      await o.audit.record({ actor: ctx.caller.tokenId, role: ctx.caller.role, action: ctx.route.meta.action, target, outcome, detail: `web ${ctx.method} /${ctx.segments.join("/")}${detail ? `: ${detail}` : ""}` });
    } catch (e) {
      log.error("audit write failed", { action: ctx.route.meta.action, error: (e as Error).message });
    }
  };

  const jsonBody = async (ctx: Ctx): Promise<Record<string, unknown>> => {
    const buf = await readBody(ctx.req, MAX_JSON);
    if (buf.length === 0) return {};
    const ct = (ctx.req.headers["content-type"] ?? "").toLowerCase();
    if (!ct.startsWith("application/json")) throw new HttpError(415, "expected application/json", { error: "Error: expected a JSON body" });
    try {
      const v = JSON.parse(buf.toString("utf8")) as unknown;
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
      return v as Record<string, unknown>;
    } catch {
      throw new HttpError(400, "malformed JSON body", { error: "Error: malformed JSON body" });
    }
  };

  const idList = (v: unknown): string[] => {
    if (!Array.isArray(v) || v.length === 0) throw new HttpError(400, "ids required", { error: "Error: select at least one patch" });
    if (v.length > 10_000) throw badRequest("too many patch ids");
    const ids = v.map((x) => String(x));
    for (const id of ids) if (!ID_RE.test(id)) throw new HttpError(400, "bad id", { error: `Error: invalid patch id "${id.slice(0, 64)}"` });
    return [...new Set(ids)].sort();
  };

  const hostParam = (ctx: Ctx) => {
    const h = ctx.params.host ?? "";
    if (!HOST_RE.test(h)) throw new HttpError(400, "bad host", { error: `Error: invalid hostname or IP "${h.slice(0, 64)}"` });
    return h;
  };

  /**
   * A JSON route. For audited (operator/admin) routes the outcome is recorded; domain errors
   * become `{error}` answers with the text `wording` gives (default "Error: <message>").
   */
  const api = (
    methods: readonly string[],
    pattern: string,
    rpcPath: string | "public",
    fn: (ctx: Ctx) => Promise<{ body: unknown; status?: number; target?: string; detail?: string }>,
    opts: { wording?: (e: DomainError, ctx: Ctx) => string; keepBody?: boolean } = {},
  ) => {
    const meta: Meta = rpcPath === "public" ? { action: "ConsoleSession", requirement: "public" } : { action: methodOf(rpcPath), requirement: req(rpcPath) };
    router.add(methods, pattern, meta, async (ctx) => {
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

  const targetOf = (ctx: Ctx) => (ctx.params.host ? `host=${ctx.params.host}` : ctx.params.id ? `patches=${ctx.params.id}` : "");

  // ------------------------------------------------------------------ session

  api(["POST"], "/api/session", "public", async (ctx) => {
    const body = await jsonBody(ctx);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    if (!token) throw new HttpError(400, "token required", { error: "Enter a token" });
    let caller: Caller;
    try {
      caller = await o.auth.verify(token);
    } catch (e) {
      if (isDomainError(e) && e.kind === "unauthenticated") throw new HttpError(401, e.message, { error: `Sign-in failed: ${e.message}` });
      throw e;
    }
    if (caller.role === "agent") throw new HttpError(403, "agent token", { error: "Sign-in failed: agent tokens cannot use the console" });
    const now = Date.now();
    for (const [k, s] of sessions) if (now - s.lastUsed > SESSION_IDLE_MS) sessions.delete(k);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    const sid = randomBytes(32).toString("hex");
    sessions.set(sid, { token, lastUsed: now });
    ctx.res.setHeader("set-cookie", `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict`);
    return { body: sessionBody(caller) };
  });

  const sessionBody = (caller: Caller) => ({
    tokenId: caller.tokenId,
    role: caller.role,
    release: patches.runningRelease,
    permissions: permissionsOf(caller.role),
  });

  router.add(["GET"], "/api/session", { action: "GetControllerInfo", requirement: "reader" }, async (ctx) => {
    sendJson(ctx.res, 200, sessionBody(ctx.caller!));
  });

  router.add(["DELETE"], "/api/session", { action: "ConsoleSignOut", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    const sid = parseCookies(ctx.req.headers.cookie)[COOKIE];
    if (sid) sessions.delete(sid);
    ctx.res.setHeader("set-cookie", `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    sendJson(ctx.res, 200, { ok: true });
  });

  // ------------------------------------------------------------------ patches

  api(["GET"], "/api/patches", "/swpatch.v1.PatchService/QueryPatches", async (ctx) => {
    const show = (ctx.query.get("show") ?? "all").toLowerCase();
    const filter = show === "applied" || show === "available" || show === "committed" ? show : "all";
    const release = ctx.query.get("release") ?? "";
    if (release && !RELEASE_RE.test(release)) throw new HttpError(400, "bad release", { error: `Error: invalid release "${release.slice(0, 64)}"` });
    return { body: { patches: patches.query(filter, release).map(patchSummary), releases: patches.releasesKnown() } };
  });

  api(["GET"], "/api/patches/:id", "/swpatch.v1.PatchService/ShowPatches", async (ctx) => {
    const id = ctx.params.id!;
    if (!ID_RE.test(id)) throw new HttpError(400, "bad id", { error: `Error: invalid patch id "${id.slice(0, 64)}"` });
    const p = patches.get(id);
    if (!p) throw new HttpError(404, "unrecognized", { error: `${id} is unrecognized` });
    return { body: { patch: patchDetails(p, patches) } };
  });

  api(
    ["POST"],
    "/api/patches/upload",
    CONSOLE_ACTIONS.upload,
    async (ctx) => {
      if (ctx.req.headers[CSRF_HEADER] !== "1") throw csrfRefusal();
      const boundary = multipartBoundary(ctx.req.headers["content-type"]);
      const results: { file: string; id: string; info: string; warning: string; error: string }[] = [];
      for await (const part of parseMultipart(bodyStream(ctx.req, maxUpload), boundary, { maxParts: 64 })) {
        if (part.name !== "file" || !part.filename) {
          await drain(part.body);
          continue;
        }
        const name = part.filename;
        try {
          checkUploadFileName(name);
        } catch (e) {
          await drain(part.body);
          results.push({ file: name, id: "", info: "", warning: "", error: `Error: ${(e as Error).message}` });
          continue;
        }
        try {
          const r = await patches.upload(name, part.body, ctx.signal);
          results.push({ file: name, id: r.id, ...uploadMessages(r), error: "" });
        } catch (e) {
          if (ctx.signal.aborted || !isDomainError(e)) throw e;
          results.push({ file: name, id: "", info: "", warning: "", error: cliError(e) });
        }
      }
      if (results.length === 0) throw new HttpError(400, "no file", { error: "Error: choose one or more .patch files" });
      const ok = results.filter((r) => !r.error).map((r) => r.id);
      return { body: { results }, target: `files=${results.map((r) => r.file).join(",")}`.slice(0, 256), detail: ok.length ? `patch=${ok.join(",")}` : results[0]!.error };
    },
    { keepBody: true },
  );

  api(["POST"], "/api/patches/apply", CONSOLE_ACTIONS.apply, async (ctx) => {
    const b = await jsonBody(ctx);
    const all = b.all === true;
    const ids = all ? [] : idList(b.ids);
    const r = await patches.apply(ids, { all });
    return { body: applyMessages(r), target: all ? "all" : `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/remove", CONSOLE_ACTIONS.remove, async (ctx) => {
    const ids = idList((await jsonBody(ctx)).ids);
    const r = await patches.remove(ids);
    return { body: removeMessages(r), target: `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/delete", CONSOLE_ACTIONS.delete, async (ctx) => {
    const ids = idList((await jsonBody(ctx)).ids);
    const r = await patches.delete(ids);
    return { body: deleteMessages(r), target: `patches=${ids.join(",")}` };
  });

  api(["POST"], "/api/patches/commit", CONSOLE_ACTIONS.commit, async (ctx) => {
    const b = await jsonBody(ctx);
    const ids = idList(b.ids);
    const dryRun = b.dryRun === true;
    const r = await patches.commit({ ids, dryRun });
    return { body: { info: commitMessages(r).info, patchIds: r.patchIds, freedBytes: r.freedBytes, dryRun }, target: `patches=${ids.join(",")}`, detail: dryRun ? "dry-run" : "" };
  });

  // ------------------------------------------------------------------ hosts

  const currentInstall = async (hostname: string): Promise<InstallView | undefined> => {
    const op = hosts.runningOperation(hostname);
    if (!op) return undefined;
    try {
      return installView((await hosts.operation(op)) as unknown as Record<string, unknown>);
    } catch {
      return undefined;
    }
  };

  api(["GET"], "/api/hosts", "/swpatch.v1.HostService/ListHosts", async () => {
    const list = hosts.list();
    const out = [];
    for (const h of list) out.push(hostView(h, await currentInstall(h.hostname)));
    return { body: { hosts: out } };
  });

  api(["POST"], "/api/hosts/:host/install", CONSOLE_ACTIONS.install, async (ctx) => {
    const b = await jsonBody(ctx);
    const r = await hosts.install(hostParam(ctx), b.force === true);
    return { body: { operationId: r.operationId, hostname: r.hostname }, detail: `operation=${r.operationId}` };
  });

  api(["GET"], "/api/operations/:id", "/swpatch.v1.HostService/GetOperation", async (ctx) => {
    const id = ctx.params.id!;
    if (!/^[0-9a-f-]{1,64}$/.test(id)) throw new HttpError(400, "bad operation id", { error: "Error: invalid operation id" });
    return { body: { progress: installView((await hosts.operation(id)) as unknown as Record<string, unknown>) } };
  });

  api(["POST"], "/api/hosts/:host/lock", CONSOLE_ACTIONS.lock, async (ctx) => {
    const b = await jsonBody(ctx);
    const h = await hosts.lock(hostParam(ctx), b.force === true);
    return { body: { host: hostView(h, undefined) } };
  });

  api(["POST"], "/api/hosts/:host/unlock", CONSOLE_ACTIONS.unlock, async (ctx) => {
    await jsonBody(ctx);
    const r = await hosts.unlock(hostParam(ctx));
    return { body: { host: hostView(r.host, undefined), rebooting: r.rebooting } };
  });

  // ------------------------------------------------------------------ orchestration

  api(["GET"], "/api/strategy", "/swpatch.v1.OrchestrationService/GetStrategy", async () => ({ body: { strategy: strategyView(orchestrator.current()) } }));

  const CHOICES: Record<string, readonly string[]> = {
    controllerApplyType: ["serial", "ignore"],
    storageApplyType: ["serial", "parallel", "ignore"],
    workerApplyType: ["serial", "parallel", "ignore"],
    defaultInstanceAction: ["stop-start", "migrate"],
    alarmRestrictions: ["strict", "relaxed"],
  };
  const FLAG: Record<string, string> = {
    controllerApplyType: "controller-apply-type",
    storageApplyType: "storage-apply-type",
    workerApplyType: "worker-apply-type",
    defaultInstanceAction: "instance-action",
    alarmRestrictions: "alarm-restrictions",
  };

  api(
    ["POST"],
    "/api/strategy",
    CONSOLE_ACTIONS.createStrategy,
    async (ctx) => {
      const b = await jsonBody(ctx);
      const opts: Partial<StrategyOptions> = {};
      for (const [k, choices] of Object.entries(CHOICES)) {
        const v = b[k];
        if (v === undefined || v === "") continue;
        if (typeof v !== "string" || !choices.includes(v)) {
          throw new HttpError(400, "bad choice", { error: `argument --${FLAG[k]}: invalid choice: '${String(v).slice(0, 32)}' (choose from ${choices.map((c) => `'${c}'`).join(", ")})` });
        }
        (opts as Record<string, unknown>)[k] = v;
      }
      const max = b.maxParallelWorkerHosts;
      if (max !== undefined && max !== "" && max !== null) {
        const n = Number(max);
        if (!Number.isInteger(n) || n < 2 || n > 100) {
          throw new HttpError(400, "bad max", { error: `argument --max-parallel-worker-hosts: invalid choice: ${String(max).slice(0, 16)} (choose from 2..100)` });
        }
        opts.maxParallelWorkerHosts = n;
      }
      const s = await orchestrator.create(opts);
      return { body: { strategy: strategyView(s) }, target: `strategy=${s.uuid}` };
    },
    { wording: (e) => (e.kind === "already-exists" ? `Operation failed: conflict detected. ${e.message || "strategy already exists."}` : e.kind === "invalid-argument" ? e.message : "Strategy creation failed") },
  );

  const stageOf = (b: Record<string, unknown>): number | undefined => {
    const v = b.stageId;
    if (v === undefined || v === null || v === "") return undefined;
    if (!/^\d+$/.test(String(v))) throw new HttpError(400, "bad stage", { error: `argument --stage-id: invalid value: '${String(v).slice(0, 16)}'` });
    return Number(v);
  };
  const stageWording = (verb: string) => (e: DomainError, ctx: Ctx) => {
    const stage = (ctx as Ctx & { stage?: number }).stage;
    const failed = stage === undefined ? `Strategy ${verb} failed` : `Strategy stage ${stage} ${verb} failed`;
    return e.kind === "failed-precondition" ? `${failed}: ${e.message}` : failed;
  };

  api(
    ["POST"],
    "/api/strategy/apply",
    CONSOLE_ACTIONS.applyStrategy,
    async (ctx) => {
      const stage = stageOf(await jsonBody(ctx));
      (ctx as Ctx & { stage?: number }).stage = stage;
      const s = await orchestrator.apply(stage);
      return { body: { strategy: strategyView(s) }, target: stage === undefined ? "all stages" : `stage=${stage}` };
    },
    { wording: stageWording("apply") },
  );

  api(
    ["POST"],
    "/api/strategy/abort",
    CONSOLE_ACTIONS.abortStrategy,
    async (ctx) => {
      const stage = stageOf(await jsonBody(ctx));
      (ctx as Ctx & { stage?: number }).stage = stage;
      const s = await orchestrator.abort(stage);
      return { body: { strategy: strategyView(s) }, target: stage === undefined ? "all stages" : `stage=${stage}` };
    },
    { wording: stageWording("abort") },
  );

  api(
    ["DELETE"],
    "/api/strategy",
    CONSOLE_ACTIONS.deleteStrategy,
    async (ctx) => {
      await discardBody(ctx.req, MAX_JSON);
      await orchestrator.delete(false);
      return { body: { info: "Strategy deleted" } };
    },
    { wording: (e) => (e.kind === "failed-precondition" ? `Operation failed: conflict detected. ${e.message}` : "Strategy delete failed") },
  );

  // ------------------------------------------------------------------ live events (SSE)

  router.add(["GET"], "/api/events", { action: "WatchEvents", requirement: req("/swpatch.v1.PatchService/WatchEvents") }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    const raw = ctx.req.headers["last-event-id"] ?? ctx.query.get("after") ?? undefined;
    const resumeFrom = typeof raw === "string" && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
    const after = resumeFrom !== undefined ? Math.min(resumeFrom, events.lastSequence) : events.lastSequence;
    const res = ctx.res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    const ac = new AbortController();
    streams.add(ac);
    const onAbort = () => ac.abort();
    ctx.signal.addEventListener("abort", onAbort);
    let chain = Promise.resolve();
    const write = (text: string) => {
      chain = chain.then(async () => {
        if (ac.signal.aborted || res.destroyed) return;
        if (!res.write(text)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.on("drain", done);
            res.on("close", done);
          });
        }
      });
      return chain;
    };
    const token = tokenOf(ctx.req);
    const heartbeat = setInterval(() => {
      void (async () => {
        if (token) {
          try {
            await o.auth.verify(token);
          } catch {
            await write(`event: signed-out\ndata: {}\n\n`);
            ac.abort();
            return;
          }
        }
        await write(`: keep-alive\n\n`);
      })();
    }, heartbeatMs);
    try {
      await write(`retry: 1000\nid: ${after}\nevent: ready\ndata: ${JSON.stringify({ seq: after, resumed: resumeFrom !== undefined })}\n\n`);
      const domainEvents = (async () => {
        for await (const e of events.watch(after, {}, ac.signal)) {
          await write(`id: ${e.seq}\nevent: domain\ndata: ${JSON.stringify(eventView(e))}\n\n`);
        }
      })();
      const strategies = (async () => {
        for await (const s of orchestrator.watch(ac.signal)) {
          await write(`event: strategy\ndata: ${JSON.stringify({ strategy: strategyView(s) })}\n\n`);
        }
      })();
      await Promise.all([domainEvents, strategies]).catch((e: unknown) => {
        if (!ac.signal.aborted) log.warn("console event stream failed", { error: (e as Error)?.message });
      });
    } finally {
      ac.abort();
      clearInterval(heartbeat);
      streams.delete(ac);
      ctx.signal.removeEventListener("abort", onAbort);
      if (!res.destroyed) res.end();
    }
  });

  // ------------------------------------------------------------------ everything else

  router.add(["GET", "POST", "PUT", "PATCH", "DELETE"], "/api/*rest", { action: "Unknown", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    sendJson(ctx.res, 404, { error: `Unknown console API path /${ctx.segments.join("/").slice(0, 128)}` });
  });
  router.add(["GET", "HEAD"], "/*path", { action: "Static", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, MAX_JSON);
    await statics.serve(ctx.req, ctx.res, ctx.rest);
  });

  // ------------------------------------------------------------------ auth and CSRF

  function tokenOf(r: http.IncomingMessage): string | undefined {
    const authz = r.headers.authorization;
    if (typeof authz === "string" && /^Bearer\s+/i.test(authz)) return authz.replace(/^Bearer\s+/i, "").trim();
    const sid = parseCookies(r.headers.cookie)[COOKIE];
    if (!sid) return undefined;
    const s = sessions.get(sid);
    if (!s || Date.now() - s.lastUsed > SESSION_IDLE_MS) {
      sessions.delete(sid);
      return undefined;
    }
    s.lastUsed = Date.now();
    return s.token;
  }

  function csrfRefusal(): HttpError {
    return new HttpError(403, "missing console header", { error: "Forbidden: request not sent by the console" });
  }

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
    const token = tokenOf(ctx.req);
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
          .record({ actor: caller.tokenId, role: caller.role, action: ctx.route.meta.action, target: targetOf(ctx), outcome: "PERMISSION_DENIED", detail: `web ${ctx.method} /${ctx.segments.join("/")}: ${message}` })
          .catch(() => undefined);
      }
      throw new HttpError(403, message, { error: `Forbidden: ${message}` });
    }
    return caller;
  };

  const server = createHttpServer<Caller, Meta>({ router, log, authenticate, requestTimeoutMs: 6 * 3600_000 });

  return {
    async listen(host, port) {
      const a = await server.listen(host, port);
      log.info("web console listening", { address: `${a.address}:${a.port}`, staticDir: o.staticDir });
      return a;
    },
    async close() {
      for (const s of streams) s.abort();
      await server.close();
      sessions.clear();
    },
  };
}
