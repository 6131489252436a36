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
 * Auth: `X-Auth-Token` carries a controller token (same tokens and roles as gRPC: each endpoint
 * requires the role of the equivalent RPC in RPC_POLICY; upload_dir is admin because it reads
 * server paths). With `localTrust` (only on a loopback listener) a caller without a valid token
 * is the local admin, as on the reference's 127.0.0.1:5487. Operator/admin endpoints are audited
 * like their RPCs (action = RPC method name, detail starts with "rest").
 */
import { createReadStream, promises as fsp } from "node:fs";
import { applyMessages, commitMessages, deleteMessages, releaseMessages, removeMessages, uploadMessages } from "../mappers/patch-messages.js";
import type { UploadOutcome } from "../../domain/patches/patch-manager.js";
import * as path from "node:path";
import type * as http from "node:http";
import { isDomainError, type DomainError } from "../../domain/errors.js";
import type { PatchManager } from "../../domain/patches/patch-manager.js";
import type { PatchRecord } from "../../domain/patches/model.js";
import type { HostManager, HostStatus } from "../../domain/hosts/host-manager.js";
import { compareEvr } from "../../domain/patches/state.js";
import { LOCAL_CALLER, roleSatisfies, type Caller, type Role } from "../../domain/auth/roles.js";
import { RPC_POLICY, isAuditedRequirement, type RpcRequirement } from "../../domain/auth/rpc-policy.js";
import type { AuditRecord } from "../../domain/auth/audit-log.js";
import { parseToken } from "../../domain/auth/token.js";
import type { Logger } from "../../lib/log.js";
import {
  HttpError,
  Router,
  badRequest,
  bodyStream,
  createHttpServer,
  discardBody,
  drain,
  isLoopbackAddress,
  multipartBoundary,
  parseMultipart,
  sendJson,
  sendText,
  type RequestContext,
} from "./http.js";

export const ROOT_TEXT = "Titanium Cloud Patching API, Available versions: /v1";

/** Options of {@link createPatchApiServer}. */
export interface PatchApiOptions {
  patches: PatchManager;
  hosts: HostManager;
  /** Resolves a token to its caller (AuthManager); throws DomainError unauthenticated. */
  auth: { verify(token: string): Promise<Caller> };
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
}

export interface PatchApiServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Route metadata: the equivalent RPC (role and audit action) and what the endpoint mutates. */
interface Meta {
  /** RPC method name used for the role and the audit row, e.g. "ApplyPatches". */
  action: string;
  requirement: RpcRequirement;
}

type Ctx = RequestContext<Caller, Meta>;

/** What a handler answers, plus how the call went for the audit row. */
interface Answer {
  status?: number;
  body: unknown;
  outcome?: string;
  detail?: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^[A-Za-z0-9:._\[\]-]{1,253}$/;
const RELEASE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const APP_RE = /^[A-Za-z0-9._:@/-]{1,128}$/;
const MAX_IDS = 10_000;

const rpcReq = (service: string, method: string): RpcRequirement => {
  const r = RPC_POLICY[`/swpatch.v1.${service}/${method}`];
  if (!r) throw new Error(`patch-api: ${service}/${method} missing from RPC_POLICY`);
  return r;
};

const outcomeOfError = (e: DomainError) => e.kind.toUpperCase().replace(/-/g, "_");
const nl = (s: string) => (s === "" || s.endsWith("\n") ? s : `${s}\n`);

/** Reasons the reference raises as exceptions (→ `{"error": "Error: ..."}`), not list entries. */
const EXCEPTION_REASONS = new Set(["SEMANTIC_CHECK_FAILED"]);
const isRefusal = (e: DomainError) =>
  (e.kind === "invalid-argument" || e.kind === "not-found" || e.kind === "failed-precondition" || e.kind === "already-exists") && !EXCEPTION_REASONS.has(e.reason);

function ids(rest: readonly string[], opts: { allowAll?: boolean } = {}): string[] {
  if (rest.length > MAX_IDS) throw badRequest(`too many patch ids (${rest.length} > ${MAX_IDS})`);
  for (const id of rest) {
    if (opts.allowAll && id === "--all") continue;
    if (!ID_RE.test(id)) throw badRequest(`invalid patch id "${id}"`);
  }
  return [...rest];
}

function hostArg(v: string): string {
  if (!HOST_RE.test(v)) throw badRequest(`invalid hostname or IP "${v}"`);
  return v;
}

/** Refuses upload file names that try to name a path (`../x.patch`, `a/b`, `%2e%2e`, hidden). */
export function checkUploadFileName(name: string): string {
  if (!name) throw badRequest("upload: empty file name");
  if (name.length > 255) throw badRequest("upload: file name too long");
  if (/[\u0000-\u001f\u007f/\\%]/.test(name) || name.startsWith(".") || name.includes("..")) {
    throw badRequest(`upload: refused file name "${name.slice(0, 64)}"`);
  }
  return name;
}

// ------------------------------------------------------------------------------------ JSON shapes

const yn = (b: boolean) => (b ? "Y" : "N");

/** META of spec 6.2. */
export function metaOf(p: PatchRecord): Record<string, unknown> {
  const m: Record<string, unknown> = {
    repostate: p.repoState,
    patchstate: p.patchState,
    sw_version: p.meta.swVersion,
    status: p.meta.status,
    unremovable: yn(p.meta.unremovable),
    summary: p.meta.summary,
    description: p.meta.description,
    install_instructions: p.meta.installInstructions,
    warnings: p.meta.warnings,
    reboot_required: yn(p.meta.rebootRequired),
  };
  if (p.meta.applyActiveReleaseOnly) m.apply_active_release_only = "Y";
  m.requires = [...p.meta.requires].sort();
  for (const t of Object.keys(p.meta.personalities).sort()) m[`personality-${t}`] = [...(p.meta.personalities[t] ?? [])];
  return m;
}

const verStr = (k: { epoch: string; version: string; release: string; arch: string }) => `${k.epoch && k.epoch !== "0" ? `${k.epoch}:` : ""}${k.version}-${k.release}@${k.arch}`;

/** HOST of spec 6.2, from the host manager's status and the desired package set. */
export function hostOf(h: HostStatus, patches: PatchManager, now = Date.now()): Record<string, unknown> {
  const installedMap = new Map<string, { epoch: string; version: string; release: string; arch: string }>();
  for (const k of h.installed) if (!installedMap.has(k.name)) installedMap.set(k.name, k);
  const desired = patches.desiredFor({
    hostname: h.hostname,
    release: h.release,
    personalityKey: h.subfunctions.join("-") || h.personality,
    installed: installedMap,
  });
  // As the reference agent reports: installed = packages that will change (current version),
  // missing_pkgs = packages to add, to_remove = packages to erase.
  const installed: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, want] of desired.packages) {
    const inst = installedMap.get(name);
    if (!inst) missing.push(name);
    else if (compareEvr(inst, want) !== 0) installed[name] = verStr(inst);
  }
  return {
    ip: h.ip,
    hostname: h.hostname,
    patch_current: h.pendingChanges === 0,
    secs_since_ack: Math.max(0, Math.floor((now - h.lastSeen.getTime()) / 1000)),
    patch_failed: h.patchFailed,
    stale_details: false,
    installed,
    to_remove: [...desired.erase].sort(),
    missing_pkgs: missing.sort(),
    duplicated_pkgs: {},
    nodetype: h.personality,
    subfunctions: [...h.subfunctions],
    sw_version: h.release,
    state: h.agentState,
    requires_reboot: h.requiresRebootShown,
    allow_insvc_patching: h.allowInsvcPatching,
    interim_state: h.interim,
  };
}

// ------------------------------------------------------------------------------------ server

/** Creates the patching API server (not yet listening). */
export function createPatchApiServer(o: PatchApiOptions): PatchApiServer {
  const { patches, hosts, log } = o;
  const localTrust = !!o.localTrust;
  const maxUpload = o.maxUploadBytes ?? 4 * 1024 ** 3;
  const maxBody = o.maxBodyBytes ?? 64 * 1024;
  const router = new Router<Caller, Meta>();

  const writeAudit = async (ctx: Ctx, actor: string, role: string, outcome: string, target: string, detail: string) => {
    if (!o.audit) return;
    try {
      await o.audit.record({ actor, role, action: ctx.route.meta.action, target, outcome, detail: `rest ${ctx.method} /${ctx.segments.slice(0, 2).join("/")}${detail ? `: ${detail}` : ""}` });
    } catch (e) {
      log.error("audit write failed", { action: ctx.route.meta.action, actor, outcome, error: (e as Error).message });
    }
  };

  /** Registers `action` under both prefixes; the handler returns the JSON answer. */
  const route = (
    methods: readonly ("GET" | "POST")[],
    action: string,
    meta: Meta,
    fn: (ctx: Ctx) => Promise<Answer>,
    opts: { target?: (ctx: Ctx) => string; keepBody?: boolean } = {},
  ) => {
    const handler = async (ctx: Ctx) => {
      if (!opts.keepBody) await discardBody(ctx.req, maxBody);
      const audited = isAuditedRequirement(meta.requirement);
      const target = opts.target?.(ctx) ?? targetOf(ctx);
      let a: Answer;
      try {
        a = await fn(ctx);
      } catch (e) {
        if (audited) await writeAudit(ctx, ctx.caller!.tokenId, ctx.caller!.role, e instanceof HttpError ? `HTTP_${e.status}` : "INTERNAL", target, (e as Error).message ?? "");
        throw e;
      }
      if (audited) await writeAudit(ctx, ctx.caller!.tokenId, ctx.caller!.role, a.outcome ?? "ok", target, a.detail ?? "");
      if (ctx.signal.aborted) return; // the client left; nothing to answer
      sendJson(ctx.res, a.status ?? 200, a.body);
    };
    for (const prefix of ["patch", "v1"]) router.add(methods, `/${prefix}/${action}/*rest`, meta, handler);
  };

  const targetOf = (ctx: Ctx): string => {
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
  };

  /** Domain refusal → the reference's list-style answer; exceptions → `{"error": "Error: ..."}`. */
  const opError = (e: unknown, listStyle: (msg: string) => unknown): Answer => {
    if (!isDomainError(e)) throw e;
    const body = isRefusal(e) ? listStyle(nl(e.message)) : { error: `Error: ${e.message}` };
    return { body, outcome: outcomeOfError(e), detail: e.message };
  };
  const triple = (msg: string) => ({ info: "", warning: "", error: msg });
  const okTriple = (m: { info: string; warning: string }, detail = ""): Answer => ({ body: { info: m.info, warning: m.warning, error: "" }, detail });

  const P = (m: string) => rpcReq("PatchService", m);
  const H = (m: string) => rpcReq("HostService", m);

  // ---- root and index
  router.add(["GET", "POST", "HEAD"], "/", { action: "Root", requirement: "public" }, async (ctx) => {
    await discardBody(ctx.req, maxBody);
    sendText(ctx.res, 200, ROOT_TEXT, "text/html; charset=utf-8");
  });

  const query = async (ctx: Ctx): Promise<Answer> => {
    const show = (ctx.query.get("show") ?? "all").toLowerCase();
    const filter = show === "applied" || show === "available" || show === "committed" ? show : "all";
    const release = ctx.query.get("release") ?? "";
    if (release && !RELEASE_RE.test(release)) return { body: { pd: {} } };
    const pd: Record<string, unknown> = {};
    for (const p of patches.query(filter, release)) pd[p.meta.id] = metaOf(p);
    return { body: { pd } };
  };
  for (const prefix of ["patch", "v1"]) {
    router.add(["GET", "POST"], `/${prefix}`, { action: "QueryPatches", requirement: P("QueryPatches") }, async (ctx) => {
      await discardBody(ctx.req, maxBody);
      sendJson(ctx.res, 200, (await query(ctx)).body);
    });
  }
  route(["GET", "POST"], "query", { action: "QueryPatches", requirement: P("QueryPatches") }, async (ctx) => {
    if (ctx.rest.length) throw badRequest("query takes no path arguments");
    return query(ctx);
  });

  route(["GET", "POST"], "show", { action: "ShowPatches", requirement: P("ShowPatches") }, async (ctx) => {
    const r = patches.show(ids(ctx.rest));
    const metadata: Record<string, unknown> = {};
    const contents: Record<string, string[]> = {};
    for (const p of r.patches) {
      metadata[p.meta.id] = metaOf(p);
      contents[p.meta.id] = [...p.meta.contents].sort();
    }
    return { body: { metadata, contents, error: r.unrecognized.map((id) => `${id} is unrecognized\n`).join("") } };
  });

  // ---- apply / remove / delete
  route(["POST"], "apply", { action: "ApplyPatches", requirement: P("ApplyPatches") }, async (ctx) => {
    const list = ids(ctx.rest, { allowAll: true });
    const all = list.includes("--all");
    try {
      const r = await patches.apply(all ? [] : list, { all, skipSemantic: ctx.query.get("skip-semantic") === "yes" });
      return okTriple(applyMessages(r), r.applied.length ? `applied=${r.applied.join(",")}` : "");
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["POST"], "remove", { action: "RemovePatches", requirement: P("RemovePatches") }, async (ctx) => {
    try {
      const r = await patches.remove(ids(ctx.rest), {
        skipSemantic: ctx.query.get("skip-semantic") === "yes",
        skipAppCheck: ctx.query.get("skipappcheck") === "yes",
        removeUnremovable: ctx.query.get("removeunremovable") === "yes",
      });
      return okTriple(removeMessages(r), r.removed.length ? `removed=${r.removed.join(",")}` : "");
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["POST"], "delete", { action: "DeletePatches", requirement: P("DeletePatches") }, async (ctx) => {
    try {
      const r = await patches.delete(ids(ctx.rest));
      return okTriple(deleteMessages(r));
    } catch (e) {
      return opError(e, triple);
    }
  });

  // ---- dependency queries
  route(["GET", "POST"], "what_requires", { action: "WhatRequires", requirement: P("WhatRequires") }, async (ctx) => {
    try {
      const r = patches.whatRequires(ids(ctx.rest));
      const info = r.map((x) => (x.requiredBy.length ? `${x.patchId} is required by: ${x.requiredBy.join(", ")}\n` : `${x.patchId} is not required by any patches.\n`)).join("");
      return { body: { info, warning: "", error: "" } };
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["GET", "POST"], "query_dependencies", { action: "QueryDependencies", requirement: P("QueryDependencies") }, async (ctx) => {
    try {
      return { body: { patches: patches.queryDependencies(ids(ctx.rest), ctx.query.get("recursive") === "yes"), error: "" } };
    } catch (e) {
      return opError(e, (msg) => ({ patches: [], error: msg }));
    }
  });

  for (const [action, rpc, state] of [
    ["is_applied", "IsApplied", "Applied"],
    ["is_available", "IsAvailable", "Available"],
  ] as const) {
    route(["GET", "POST"], action, { action: rpc, requirement: P(rpc) }, async (ctx) => {
      try {
        return { body: patches.isInState(ids(ctx.rest), state) };
      } catch (e) {
        // The reference answers False for an unknown id.
        if (isDomainError(e) && (e.kind === "not-found" || e.kind === "invalid-argument")) return { body: false };
        return opError(e, triple);
      }
    });
  }

  // ---- hosts
  route(["GET", "POST"], "query_hosts", { action: "ListHosts", requirement: H("ListHosts") }, async () => {
    const now = Date.now();
    return { body: { data: hosts.list().map((h) => hostOf(h, patches, now)) } };
  });

  route(["POST"], "host_install_async", { action: "InstallHostAsync", requirement: H("InstallHostAsync") }, async (ctx) => {
    if (ctx.rest.length === 0) return { body: { error: "Host must be provided for install" }, outcome: "INVALID_ARGUMENT" };
    if (ctx.rest.length > 2 || (ctx.rest.length === 2 && ctx.rest[1] !== "force")) throw badRequest("expected host_install_async/<host>[/force]");
    try {
      const r = await hosts.install(hostArg(ctx.rest[0]!), ctx.rest[1] === "force");
      return { body: { info: `Patch installation request sent to ${r.hostname}.\n`, warning: "", error: "" }, detail: `operation=${r.operationId}` };
    } catch (e) {
      return opError(e, triple);
    }
  });

  route(["GET", "POST"], "host_install", { action: "InstallHost", requirement: H("InstallHost") }, async () => ({
    body: { error: "Deprecated: Use host_install_async" },
    outcome: "FAILED_PRECONDITION",
  }));

  route(["POST"], "drop_host", { action: "DropHost", requirement: H("DropHost") }, async (ctx) => {
    if (ctx.rest.length === 0) return { body: { error: "Host must be provided" }, outcome: "INVALID_ARGUMENT" };
    if (ctx.rest.length > 1) throw badRequest("expected drop_host/<host>");
    try {
      await hosts.drop(hostArg(ctx.rest[0]!));
      return { body: { info: "", warning: "", error: "" } };
    } catch (e) {
      return opError(e, triple);
    }
  });

  // ---- commit
  for (const [action, dryRun] of [
    ["commit", false],
    ["commit_dry_run", true],
  ] as const) {
    route(["POST"], action, { action: "CommitPatches", requirement: P("CommitPatches") }, async (ctx) => {
      const list = ids(ctx.rest, { allowAll: true });
      const all = list.includes("--all");
      const release = ctx.query.get("release") ?? "";
      if (release && !RELEASE_RE.test(release)) throw badRequest(`invalid release "${release}"`);
      try {
        const r = await patches.commit(all ? { all, release, dryRun } : { ids: list, dryRun, ...(release ? { release } : {}) });
        return { body: { info: commitMessages(r).info, error: "" }, detail: `${dryRun ? "dry-run " : ""}patches=${r.patchIds.join(",")}` };
      } catch (e) {
        return opError(e, (msg) => ({ info: "", error: msg }));
      }
    });
  }

  // ---- application dependencies
  route(["POST"], "report_app_dependencies", { action: "ReportAppDependencies", requirement: P("ReportAppDependencies") }, async (ctx) => {
    const list = ids(ctx.rest);
    const app = ctx.query.get("app") ?? "";
    if (app && !APP_RE.test(app)) throw badRequest(`invalid application name "${app.slice(0, 64)}"`);
    try {
      await patches.reportAppDependencies(app, list);
      return { body: true };
    } catch (e) {
      if (!isDomainError(e)) throw e;
      return { body: { status: 500, error: e.message }, outcome: outcomeOfError(e), detail: e.message };
    }
  });

  route(["GET", "POST"], "query_app_dependencies", { action: "QueryAppDependencies", requirement: P("QueryAppDependencies") }, async () => {
    const out: Record<string, string[]> = {};
    for (const d of patches.appDependencies()) out[d.app] = d.patchIds;
    return { body: out };
  });

  // ---- releases
  for (const [action, rpc] of [
    ["init_release", "InitRelease"],
    ["del_release", "DelRelease"],
  ] as const) {
    route(["POST"], action, { action: rpc, requirement: P(rpc) }, async (ctx) => {
      if (ctx.rest.length === 0) return { body: { error: "Release must be specified" }, outcome: "INVALID_ARGUMENT" };
      if (ctx.rest.length > 1 || !RELEASE_RE.test(ctx.rest[0]!)) throw badRequest("expected a single release name");
      try {
        const m = rpc === "InitRelease" ? await patches.initRelease(ctx.rest[0]!) : await patches.delRelease(ctx.rest[0]!);
        return okTriple(releaseMessages(m));
      } catch (e) {
        return opError(e, triple);
      }
    });
  }

  // ---- upload
  /** Collects per-file outcomes the way patch_import_api does. */
  const importMessages = () => {
    const acc = { info: "", warning: "", error: "" };
    const ids: string[] = [];
    let outcome = "ok";
    return {
      acc,
      ids,
      get outcome() {
        return outcome;
      },
      ok(r: { id: string; outcome: UploadOutcome }) {
        const messages = uploadMessages(r);
        acc.info += nl(messages.info);
        acc.warning += nl(messages.warning);
        ids.push(r.id);
      },
      fail(fileName: string, e: unknown) {
        if (!isDomainError(e)) throw e;
        outcome = outcomeOfError(e);
        const id = fileName.endsWith(".patch") ? fileName.slice(0, -6) : fileName;
        if (e.reason === "BAD_FILE_NAME" || e.reason === "CONTENTS_MISMATCH") acc.error += nl(e.message);
        else if (e.kind === "internal" || e.kind === "unavailable" || e.kind === "aborted") acc.error += nl(`Failed to import patch ${id}`);
        else acc.error += nl(`Patch validation failed for ${id}:\n${e.message}`);
      },
    };
  };

  route(
    ["POST"],
    "upload",
    { action: "UploadPatch", requirement: P("UploadPatch") },
    async (ctx) => {
      if (ctx.rest.length) throw badRequest("upload takes no path arguments");
      const boundary = multipartBoundary(ctx.req.headers["content-type"]);
      const parts = parseMultipart(bodyStream(ctx.req, maxUpload), boundary, { maxParts: 16 })[Symbol.asyncIterator]();
      let streamError: unknown;
      const m = importMessages();
      let sawFile = false;
      let answer: Answer | undefined;
      for (;;) {
        const n = await parts.next();
        if (n.done) break;
        const part = n.value;
        if (part.name !== "file") {
          await drain(part.body);
          continue;
        }
        if (sawFile) throw badRequest("upload: only one 'file' field per request");
        sawFile = true;
        if (!part.filename) {
          await drain(part.body);
          answer = { body: { error: "Error: No file uploaded" }, outcome: "INVALID_ARGUMENT" };
          continue;
        }
        const fileName = checkUploadFileName(part.filename);
        // The file's chunks, then — before the domain may commit anything — the rest of the
        // request must parse to its closing boundary, with no second file.
        const chunks = (async function* () {
          try {
            yield* part.body;
            for (;;) {
              const x = await parts.next();
              if (x.done) break;
              if (x.value.name === "file") throw badRequest("upload: only one 'file' field per request");
              await drain(x.value.body);
            }
          } catch (e) {
            streamError = e;
            throw e;
          }
        })();
        try {
          m.ok(await patches.upload(fileName, chunks, ctx.signal));
        } catch (e) {
          if (streamError) throw streamError;
          if (ctx.signal.aborted) throw e;
          m.fail(fileName, e);
        }
      }
      if (!sawFile) throw badRequest("upload: no 'file' field in the request");
      if (answer) return answer;
      return { body: m.acc, outcome: m.outcome, detail: m.ids.length ? `patch=${m.ids.join(",")}` : m.acc.error.split("\n")[0] };
    },
    { keepBody: true, target: () => "" },
  );

  route(["POST"], "upload_dir", { action: "UploadPatchDir", requirement: "admin" }, async (ctx) => {
    if (ctx.rest.length) throw badRequest("upload_dir takes no path arguments");
    const dirs: string[] = [];
    for (const [k, v] of ctx.query) {
      if (!/^dir\d{1,4}$/.test(k)) continue;
      if (!path.isAbsolute(v) || v.length > 4096 || v.includes("\0")) throw badRequest(`${k}: an absolute directory path is required`);
      dirs.push(path.resolve(v));
    }
    if (dirs.length > 64) throw badRequest("upload_dir: too many directories");
    const files: string[] = [];
    for (const d of dirs) {
      let names: string[];
      try {
        if (!(await fsp.stat(d)).isDirectory()) continue;
        names = await fsp.readdir(d);
      } catch {
        continue;
      }
      for (const n of names) {
        if (!n.endsWith(".patch")) continue;
        const f = path.join(d, n);
        try {
          if ((await fsp.stat(f)).isFile()) files.push(f);
        } catch {
          /* vanished */
        }
      }
    }
    const uniq = [...new Set(files)].sort();
    if (uniq.length === 0) return { body: { error: "No patches found" }, outcome: "NOT_FOUND" };
    if (uniq.length > 1000) throw badRequest("upload_dir: more than 1000 patch files");
    const m = importMessages();
    for (const f of uniq) {
      const name = path.basename(f);
      try {
        m.ok(await patches.upload(name, createReadStream(f, { highWaterMark: 256 * 1024 }) as AsyncIterable<Uint8Array>, ctx.signal));
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        m.fail(name, e);
      }
    }
    return { body: m.acc, outcome: m.outcome, detail: m.ids.length ? `patches=${m.ids.join(",")}` : "" };
  }, { target: (ctx) => [...ctx.query].filter(([k]) => /^dir\d+$/.test(k)).map(([k, v]) => `${k}=${v}`).join(" ") });

  // ---- authentication
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

  /**
   * Under local trust the API must not be drivable by a web page the local user visits: refuse
   * browser cross-origin requests (an Origin header) and DNS-rebinding hosts (Host not loopback).
   */
  const precheck = (req: http.IncomingMessage) => {
    if (!localTrust) return;
    const origin = req.headers.origin;
    if (origin !== undefined) throw new HttpError(403, "cross-origin request refused", { error: "Forbidden: browser cross-origin requests are refused" });
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
    if (host && host !== "localhost" && !isLoopbackAddress(host)) throw new HttpError(403, "non-loopback Host refused", { error: `Forbidden: Host ${host.slice(0, 64)} is not a loopback name` });
  };

  const server = createHttpServer<Caller, Meta>({
    router,
    log,
    authenticate,
    precheck,
    notFound: (segs) => ({ error: `Unknown action: ${segs.slice(0, 2).join("/").slice(0, 128)}` }),
  });

  return {
    async listen(host, port) {
      if (localTrust && !isLoopbackAddress(host) && host !== "localhost") {
        throw new Error(`--patch-api-local-trust needs a loopback listen address, got ${host}`);
      }
      const a = await server.listen(host, port);
      log.info("patch api listening", { address: `${a.address}:${a.port}`, localTrust });
      return a;
    },
    close: () => server.close(),
  };
}
