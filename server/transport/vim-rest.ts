import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { isDomainError, type DomainErrorKind } from "../domain/errors.js";
import type { Orchestrator } from "../domain/orchestration/orchestrator.js";
import type { StrategyOptions } from "../domain/orchestration/model.js";
import type { Logger } from "../lib/log.js";
import { strategyToReferenceJson } from "./mappers/strategy.js";
import { applyHttpLimits, DEFAULT_HTTP_LIMITS, type HttpLimitStats, type HttpListenerLimits } from "./rest/http/limits.js";

/** What a request wants to do, for {@link VimRestOptions.authorize}. */
export type VimRestAction = "read" | "create" | "delete" | "apply" | "abort";

/** Options of {@link createVimRestServer}. */
export interface VimRestOptions {
  orchestrator: Orchestrator;
  /** `host:port` to listen on; port 0 picks a free port. The reference VIM uses 4545. */
  listen: string;
  /** Authorises `X-Auth-Token` for `action`; false (or a rejection) → 403. Default: allow. */
  authorize?: (token: string | undefined, action: VimRestAction) => boolean | Promise<boolean>;
  /** Largest accepted request body, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Timeouts and connection caps of the listener (default DEFAULT_HTTP_LIMITS). */
  limits?: HttpListenerLimits;
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Our precise reason, sent as `debuginfo` when `message` is the reference's generic text. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** webob's HTTPConflict text: what the reference answers a refused delete with (409, no reason of its own). */
export const WEBOB_CONFLICT = "There was a conflict when trying to complete your request.";

const KIND_TO_HTTP: Partial<Record<DomainErrorKind, number>> = {
  "invalid-argument": 400,
  "not-found": 404,
  "already-exists": 409,
  "permission-denied": 403,
  unauthenticated: 401,
};

/**
 * The VIM REST API for the sw-patch strategy (spec orchestration §3) on plain node:http:
 * GET/POST/DELETE `/api/orchestration/{sw-patch,sw-update}/strategy`, GET `…/strategy/{uuid}`,
 * POST `…/strategy/actions`, GET `/api/orchestration`, `/api/orchestration/sw-patch` and
 * `/api/orchestration/current-strategy/strategy`. Reference JSON with hyphenated keys;
 * errors are `{"faultcode", "faultstring"}` JSON with the reference's status codes (apply/abort
 * rejections are 500 as in the reference, with the reason in faultstring).
 */
export async function createVimRestServer(o: VimRestOptions): Promise<VimRestServer> {
  const maxBody = o.maxBodyBytes ?? 65536;
  const authorize = o.authorize ?? (() => true);
  const orch = o.orchestrator;

  async function body(req: http.IncomingMessage): Promise<unknown> {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) throw new HttpError(413, `request body larger than ${maxBody} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > maxBody) throw new HttpError(413, `request body larger than ${maxBody} bytes`);
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString("utf8").trim();
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, "request body is not valid JSON");
    }
  }

  async function guard(req: http.IncomingMessage, action: VimRestAction): Promise<void> {
    const header = req.headers["x-auth-token"];
    const token = Array.isArray(header) ? header[0] : header;
    let allowed = false;
    try {
      allowed = await authorize(token, action);
    } catch (e) {
      // Keystone (--keystone-url) could not be asked: 503, never let through.
      if (isDomainError(e) && e.kind === "unavailable") throw new HttpError(503, e.message);
      allowed = false;
    }
    if (!allowed) throw new HttpError(403, "Authorization failed");
  }

  function links(base: string, rels: [string, string][]) {
    return rels.map(([rel, path]) => ({ href: `${base}${path}`, rel }));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    const base = `http://${req.headers.host ?? "localhost"}`;
    const send = (status: number, payload?: unknown) => {
      const text = payload === undefined ? "" : JSON.stringify(payload);
      res.writeHead(status, payload === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };

    if (path === ROOT && method === "GET") {
      await guard(req, "read");
      return send(200, { id: "orchestration", links: links(base, [["self", `${ROOT}/`], ...TYPES.map((t): [string, string] => [t, `${ROOT}/${t}/`])]) });
    }
    if (path === `${ROOT}/current-strategy/strategy` && method === "GET") {
      await guard(req, "read");
      const s = orch.current();
      return send(200, { strategy: s ? { name: s.name, state: s.state } : null });
    }
    const m = /^\/api\/orchestration\/(sw-patch|sw-update)(\/strategy(?:\/([^/]+))?)?$/.exec(path);
    if (!m) throw new HttpError(404, "The resource could not be found.");
    const [, type, strategyPart, sub] = m;
    if (!strategyPart) {
      if (method !== "GET") throw new HttpError(405, "Method not allowed");
      await guard(req, "read");
      return send(200, {
        id: type,
        links: links(base, [
          ["self", `${ROOT}/${type}/`],
          ["strategy", `${ROOT}/${type}/strategy/`],
        ]),
      });
    }

    if (sub === "actions") {
      if (method !== "POST") throw new HttpError(405, "Method not allowed");
      // Credentials before the body: apply and abort need the same role, checked again below
      // for the action the body names.
      await guard(req, "apply");
      const b = await body(req);
      if (!b || typeof b !== "object" || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
      const rec = b as Record<string, unknown>;
      const action = rec.action;
      if (action !== "apply-all" && action !== "apply-stage" && action !== "abort" && action !== "abort-stage") {
        throw new HttpError(400, `Invalid value for action: ${JSON.stringify(action ?? null)}`);
      }
      if ((action === "apply-stage" || action === "abort-stage") && !("stage-id" in rec)) throw new HttpError(400, "No stage-id received");
      const stageId = parseStageId(rec["stage-id"]);
      await guard(req, action.startsWith("apply") ? "apply" : "abort");
      const s = action.startsWith("apply") ? await orch.apply(stageId) : await orch.abort(stageId);
      return send(202, { strategy: strategyToReferenceJson(s) });
    }
    if (sub !== undefined) {
      if (method !== "GET") throw new HttpError(405, "Method not allowed");
      if (!UUID_RE.test(sub)) throw new HttpError(400, `Invalid strategy uuid: ${sub}`);
      await guard(req, "read");
      const s = orch.current();
      if (!s || s.uuid !== sub) throw new HttpError(404, `Strategy ${sub} not found`);
      return send(200, { strategy: strategyToReferenceJson(s) });
    }
    switch (method) {
      case "GET": {
        await guard(req, "read");
        const s = orch.current();
        return send(200, { strategy: s ? strategyToReferenceJson(s) : null });
      }
      case "POST": {
        await guard(req, "create");
        const b = await body(req);
        const options = parseCreateBody(b);
        const s = await orch.create(options);
        return send(200, { strategy: strategyToReferenceJson(s) });
      }
      case "DELETE": {
        await guard(req, "delete");
        const b = await body(req);
        let force = false;
        if (b !== undefined) {
          if (typeof b !== "object" || b === null || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
          const f = (b as Record<string, unknown>).force;
          if (f !== undefined && typeof f !== "boolean") throw new HttpError(400, "Invalid value for force");
          force = f === true;
        }
        try {
          await orch.delete(force);
        } catch (e) {
          if (isDomainError(e) && e.kind === "failed-precondition") throw new HttpError(409, WEBOB_CONFLICT, e.message);
          throw e;
        }
        return send(204);
      }
      default:
        throw new HttpError(405, "Method not allowed");
    }
  }

  const limits = o.limits ?? DEFAULT_HTTP_LIMITS;
  const server = http.createServer({ connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headerTimeoutMs / 4))) }, (req, res) => {
    limiter.watch(req, false);
    handle(req, res).catch((e: unknown) => {
      let status = 500;
      let message = "internal error";
      let detail: string | null = null;
      if (e instanceof HttpError) {
        status = e.status;
        message = e.message;
        detail = e.detail ?? null;
      } else if (isDomainError(e)) {
        // Engine rejections of apply/abort are 500 in the reference (§3.2).
        status = KIND_TO_HTTP[e.kind] ?? 500;
        message = e.message;
      } else {
        o.log?.error("vim rest request failed", { error: (e as Error)?.stack ?? String(e) });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const text = JSON.stringify({ faultcode: status < 500 ? "Client" : "Server", faultstring: message, debuginfo: detail });
      // A refusal before the body was read (401/403/413...) closes the connection: the body is
      // dropped for a short grace period (so the client reads the answer), then the socket.
      const unread = !req.complete;
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...(unread ? { Connection: "close" } : {}) });
      res.end(text);
      if (unread) {
        req.resume();
        setTimeout(() => req.socket?.destroy(), 2_000).unref();
      }
    });
  });
  server.requestTimeout = 60_000;
  const limiter = applyHttpLimits(server, limits);

  const { host, port } = parseListen(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  o.log?.info("vim rest listening", { address: `${shownHost}:${addr.port}` });
  return {
    address: `${shownHost}:${addr.port}`,
    port: addr.port,
    limitStats: limiter.stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`vim listen: expected HOST:PORT, got "${listen}"`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port: Number(m[3]) };
}

/** stage-id: an int, a decimal string (the CLI sends a string), null or absent. */
function parseStageId(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new HttpError(400, "Invalid value for stage-id");
  return n;
}

const APPLY = ["serial", "parallel", "ignore"];

/** Validates the create body (spec §3.1) → engine options; 400 naming the key. */
function parseCreateBody(b: unknown): Partial<StrategyOptions> {
  if (!b || typeof b !== "object" || Array.isArray(b)) throw new HttpError(400, "request body must be a JSON object");
  const r = b as Record<string, unknown>;
  const choice = (key: string, allowed: string[], required: boolean): string | undefined => {
    const v = r[key];
    if (v === undefined) {
      if (required) throw new HttpError(400, `Mandatory field missing: ${key}`);
      return undefined;
    }
    if (typeof v !== "string" || !allowed.includes(v)) throw new HttpError(400, `Invalid value for ${key}`);
    return v;
  };
  const out: Partial<StrategyOptions> = {
    controllerApplyType: choice("controller-apply-type", APPLY, true) as StrategyOptions["controllerApplyType"],
    storageApplyType: choice("storage-apply-type", APPLY, true) as StrategyOptions["storageApplyType"],
    workerApplyType: choice("worker-apply-type", APPLY, true) as StrategyOptions["workerApplyType"],
    defaultInstanceAction: choice("default-instance-action", ["migrate", "stop-start"], true) as StrategyOptions["defaultInstanceAction"],
  };
  const swift = choice("swift-apply-type", APPLY, false);
  if (swift) out.swiftApplyType = swift as StrategyOptions["swiftApplyType"];
  const alarms = choice("alarm-restrictions", ["strict", "relaxed"], false);
  if (alarms) out.alarmRestrictions = alarms as StrategyOptions["alarmRestrictions"];
  const max = r["max-parallel-worker-hosts"];
  if (max !== undefined && max !== null) {
    const n = typeof max === "string" && /^\d+$/.test(max) ? Number(max) : max;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 2 || n > 100) throw new HttpError(400, "Invalid value for max-parallel-worker-hosts");
    out.maxParallelWorkerHosts = n;
  }
  return out;
}
