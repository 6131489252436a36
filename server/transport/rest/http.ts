/**
 * Reusable HTTP machinery for the controller's REST gateways (patching API now, the VIM API
 * later), on plain node:http with no dependencies:
 *
 * - strict path parsing: every segment percent-decoded on its own; `.`/`..`, `/`, `\`, NUL and
 *   control characters inside a segment are refused (400) so ids and names can never walk paths;
 * - a small router (literal, `:param` and trailing `*rest` segments; per-route methods → 405);
 * - an auth hook run after routing and before the handler, with route metadata (roles);
 * - bounded bodies: `readBody` (413 past the limit, checked against Content-Length first),
 *   `bodyStream` (counted streaming), `discardBody`;
 * - a streaming multipart/form-data parser: parts are yielded with their body as an async
 *   iterable, nothing is buffered beyond one chunk plus a delimiter's length;
 * - JSON answers for every error: `HttpError(status, message, body?)` → that status with
 *   `body ?? {"error": message}`; anything else → 500 `{"error": "internal error (ref X)"}` with the
 *   stack logged under the ref, never sent;
 * - `listen`/`close` with connection tracking so close() never hangs on keep-alive sockets;
 * - header, idle and small-body timeouts and connection caps (per listener and shared), see
 *   http/limits.ts.
 *
 * This file is the server; the parts live in `http/` (router.ts, body.ts, multipart.ts, errors.ts,
 * answer.ts) and are re-exported here.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../lib/log.js";
import { sendError, HttpError } from "./http/errors.js";
import { parseTarget, type RequestContext, type Router } from "./http/router.js";
import { applyHttpLimits, DEFAULT_HTTP_LIMITS, type HttpLimitStats, type HttpListenerLimits } from "./http/limits.js";

export { HttpError, badRequest, sendError } from "./http/errors.js";
export { sendJson, sendText } from "./http/answer.js";
export { MAX_URL_BYTES, checkSegment, parseTarget, Router, type Handler, type Method, type ParsedTarget, type RequestContext, type Route } from "./http/router.js";
export { bodyStream, discardBody, drain, readBody } from "./http/body.js";
export { applyHttpLimits, ConnectionPool, DEFAULT_HTTP_LIMITS, type HttpLimitStats, type HttpListenerLimits } from "./http/limits.js";
export { multipartBoundary, parseHeaderParams, parseMultipart, type MultipartLimits, type MultipartPart } from "./http/multipart.js";

/** Decides who calls: returns the caller or throws HttpError (401/403). */
export type AuthHook<C, M> = (ctx: RequestContext<C, M>) => Promise<C | undefined>;

export interface HttpServerOptions<C, M> {
  router: Router<C, M>;
  log: Logger;
  /** Runs after routing, before the handler. Omit for no authentication. */
  authenticate?: AuthHook<C, M>;
  /** Called for every request before routing (e.g. Host header checks); throw HttpError to refuse. */
  precheck?: (req: http.IncomingMessage) => void;
  /** 404 body for unrouted paths (default `{"error": "Not found"}`). */
  notFound?: (segments: string[]) => unknown;
  /** Whole-request time limit, ms (default 30 min: big uploads). */
  requestTimeoutMs?: number;
  /** Timeouts and connection caps (default DEFAULT_HTTP_LIMITS, no shared pool). */
  limits?: HttpListenerLimits;
  /** True for a route whose body may take long to arrive (uploads): no small-body timeout. */
  longBody?: (ctx: RequestContext<C, M>) => boolean;
}

export interface HttpServer {
  readonly server: http.Server;
  /** Connections refused by a cap and cut by a timeout so far. */
  readonly limitStats: HttpLimitStats;
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Creates (but does not start) a JSON HTTP server over `router`. */
export function createHttpServer<C, M>(o: HttpServerOptions<C, M>): HttpServer {
  const sockets = new Set<import("node:net").Socket>();
  const limits = o.limits ?? DEFAULT_HTTP_LIMITS;
  const server = http.createServer(
    {
      requestTimeout: o.requestTimeoutMs ?? 30 * 60_000,
      headersTimeout: limits.headerTimeoutMs,
      maxHeaderSize: 16 * 1024,
      // node enforces headersTimeout/requestTimeout on this period (default 30 s).
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headerTimeoutMs / 4))),
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  const limiter = applyHttpLimits(server, limits);
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.on("clientError", (err, socket) => {
    if (!socket.writable) return socket.destroy();
    // Headers (or the whole request) not received in time: 408, as node itself would answer.
    const timedOut = (err as NodeJS.ErrnoException).code === "ERR_HTTP_REQUEST_TIMEOUT";
    const body = JSON.stringify({ error: timedOut ? "Request timeout" : "Bad request" });
    const line = timedOut ? "408 Request Timeout" : "400 Bad Request";
    socket.end(`HTTP/1.1 ${line}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.once("close", onClose);
    try {
      o.precheck?.(req);
      const { segments, query } = parseTarget(req.url);
      const method = (req.method ?? "GET").toUpperCase();
      const m = o.router.match(method, segments);
      if (!m) throw new HttpError(404, "Not found", o.notFound?.(segments));
      if ("allowed" in m) throw new HttpError(405, `Method ${method} not allowed`, undefined, { allow: m.allowed.join(", ") });
      const ctx: RequestContext<C, M> = { req, res, method, segments, query, params: m.params, rest: m.rest, route: m.route, caller: undefined, signal: ac.signal };
      limiter.watch(req, o.longBody?.(ctx) ?? false);
      if (o.authenticate) ctx.caller = await o.authenticate(ctx);
      await m.route.handler(ctx);
      if (!res.headersSent) throw new Error(`handler for ${m.route.pattern} sent no answer`);
    } catch (e) {
      if (ac.signal.aborted || res.destroyed) {
        o.log.info("http client went away", { method: req.method, url: req.url?.slice(0, 256), error: (e as Error)?.message });
        return;
      }
      sendError(o.log, req, res, e);
    } finally {
      res.off("close", onClose);
    }
  }

  return {
    server,
    limitStats: limiter.stats,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          const a = server.address() as AddressInfo;
          resolve({ address: a.address, port: a.port });
        });
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        const t = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2_000);
        t.unref();
        server.once("close", () => clearTimeout(t));
      });
    },
  };
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || a === "localhost";
}
