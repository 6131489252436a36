/**
 * The one HTTP layer of the controller's HTTP APIs (patch REST, VIM, web console), on fastify:
 *
 * - listener: node http (or https with the controller's --tls-* files; a client CA makes client
 *   certificates mandatory) built here and handed to fastify, with the --http-* timeouts and
 *   connection caps (limits.ts) and connection tracking so close() never hangs on keep-alive sockets;
 * - every request, in fastify's onRequest hook (before any body is read): the API's precheck,
 *   strict path parsing (target.ts: 400/414 before routing decides anything), the route fastify
 *   matched (405 with Allow when only the method is wrong), the small-body timeout, then the API's
 *   authenticate, then the handler. Handlers answer on the raw response (the reply is hijacked),
 *   except "native" routes (static files), which fastify answers;
 * - errors: one pipeline (errors.ts) with the API's policy.
 *
 * Content-type parsing is off: handlers read bodies themselves, bounded (body.ts, multipart.ts).
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "../../lib/log.js";
import { applyHttpLimits, DEFAULT_HTTP_LIMITS, type HttpLimitStats, type HttpListenerLimits } from "./limits.js";
import { HttpError, PATCH_API_ERRORS, sendError, type ErrorPolicy } from "./errors.js";
import { bindParts, parseTarget, type RequestContext, type Route, type Routes } from "./target.js";

/** Decides who calls: returns the caller or throws HttpError (401/403). */
export type AuthHook<C, M> = (ctx: RequestContext<C, M>) => Promise<C | undefined>;

/** PEM of the listener's TLS: certificate chain, key, and a CA that client certificates must chain to (mTLS). */
export interface HttpTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

export interface HttpServerOptions<C, M> {
  routes: Routes<C, M>;
  log: Logger;
  /** How errors are answered (default: the patch API's `{"error"}` JSON). */
  errors?: ErrorPolicy;
  /** Runs after routing, before the handler. Omit for no authentication. */
  authenticate?: AuthHook<C, M>;
  /** Called for every request before routing (e.g. Host header checks); throw HttpError to refuse. */
  precheck?: (req: http.IncomingMessage) => void;
  /** The error for unrouted paths (default 404 "Not found"). */
  notFound?: (segments: string[]) => HttpError;
  /** Whole-request time limit, ms (default 30 min: big uploads). */
  requestTimeoutMs?: number;
  /** Timeouts and connection caps (default DEFAULT_HTTP_LIMITS, no shared pool). */
  limits?: HttpListenerLimits;
  /** True for a route whose body may take long to arrive (uploads): no small-body timeout. */
  longBody?: (ctx: RequestContext<C, M>) => boolean;
  /** True for a route fastify answers itself (`ctx.reply`): static files. Such routes are public. */
  native?: (route: Route<C, M>) => boolean;
  /** Serve https with these. */
  tls?: HttpTls;
  /** Plugins to register before the routes (cookies, static files). */
  plugins?: (app: FastifyInstance) => Promise<void>;
  /** close() cuts open connections at once instead of after a 2 s grace. */
  closeAtOnce?: boolean;
  /**
   * A controller pair's standby answer (issue 19): when this returns a text, every routed request except "native"
   * ones (static files) is answered 503 with it before authentication (so a standby writes no audit row).
   */
  standby?: () => string | undefined;
}

export interface HttpServer {
  readonly server: http.Server;
  /** Connections refused by a cap and cut by a timeout so far. */
  readonly limitStats: HttpLimitStats;
  /** True when the listener serves https. */
  readonly tls: boolean;
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** The fastify path of a route pattern (`*rest` → `*`). */
function fastifyPath<C, M>(r: Route<C, M>): string {
  return "/" + r.parts.map((p) => (p.kind === "lit" ? p.value : p.kind === "param" ? `:${p.value}` : "*")).join("/");
}

/** Creates (but does not start) an HTTP server over `routes`. */
export function createHttpServer<C, M>(o: HttpServerOptions<C, M>): HttpServer {
  const sockets = new Set<Socket>();
  const limits = o.limits ?? DEFAULT_HTTP_LIMITS;
  const policy = o.errors ?? PATCH_API_ERRORS;
  const serverOptions: http.ServerOptions = {
    requestTimeout: o.requestTimeoutMs ?? 30 * 60_000,
    headersTimeout: limits.headerTimeoutMs,
    maxHeaderSize: 16 * 1024,
    // node enforces headersTimeout/requestTimeout on this period (default 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headerTimeoutMs / 4))),
  };
  let server!: http.Server;
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 16 * 1024 },
    serverFactory: (handler) => {
      server = o.tls
        ? https.createServer(
            { ...serverOptions, cert: o.tls.cert, key: o.tls.key, ...(o.tls.clientCa ? { ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
            handler,
          )
        : http.createServer(serverOptions, handler);
      return server;
    },
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy();
      // Headers (or the whole request) not received in time: 408, as node itself would answer.
      const timedOut = (err as NodeJS.ErrnoException).code === "ERR_HTTP_REQUEST_TIMEOUT";
      const body = JSON.stringify({ error: timedOut ? "Request timeout" : "Bad request" });
      const line = timedOut ? "408 Request Timeout" : "400 Bad Request";
      socket.end(`HTTP/1.1 ${line}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    },
    frameworkErrors: (err, request, reply) => {
      // A path fastify's router cannot decode: our own strict parse says why.
      reply.hijack();
      let e: unknown = new HttpError(400, "Bad request");
      try {
        parseTarget(request.raw.url);
      } catch (x) {
        e = x;
      }
      o.log.info("http framework refusal", { code: (err as { code?: string }).code });
      sendError(o.log, request.raw, reply.raw, e, policy);
    },
  });
  const limiter = applyHttpLimits(server, limits);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });

  // Handlers read bodies themselves (bounded, after authentication): no content-type parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));

  const ctxOf = new WeakMap<http.IncomingMessage, RequestContext<C, M>>();

  async function run(ctx: RequestContext<C, M>, onClose: () => void): Promise<void> {
    const { req, res } = ctx;
    try {
      if (o.authenticate) ctx.caller = await o.authenticate(ctx);
      await ctx.route.handler(ctx);
      if (!res.headersSent) throw new Error(`handler for ${ctx.route.pattern} sent no answer`);
    } catch (e) {
      if (ctx.signal.aborted || res.destroyed) {
        o.log.info("http client went away", { method: req.method, url: req.url?.slice(0, 256), error: (e as Error)?.message });
        return;
      }
      sendError(o.log, req, res, e, policy);
    } finally {
      res.off("close", onClose);
    }
  }

  const plugins = (async () => {
    if (o.plugins) await o.plugins(app);
    app.addHook("onRequest", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const req = request.raw;
      const res = reply.raw;
      const ac = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) ac.abort();
      };
      res.once("close", onClose);
      let ctx: RequestContext<C, M>;
      try {
        o.precheck?.(req);
        const { segments, query } = parseTarget(req.url);
        const group = request.is404 ? undefined : (request.routeOptions.config as { group?: Route<C, M>[] }).group;
        const method = (req.method ?? "GET").toUpperCase();
        const notFound = () => o.notFound?.(segments) ?? new HttpError(404, "Not found");
        if (!group) throw notFound();
        const route = group.find((r) => r.methods.includes(method));
        if (!route) {
          const allowed = [...new Set(group.flatMap((r) => r.methods))];
          throw new HttpError(405, `Method ${method} not allowed`, undefined, { allow: allowed.join(", ") });
        }
        const bound = bindParts(route, segments);
        if (!bound) throw notFound();
        const cookies = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
        ctx = { req, res, method, segments, query, params: bound.params, rest: bound.rest, route, caller: undefined, signal: ac.signal, cookies, reply };
        limiter.watch(req, o.longBody?.(ctx) ?? false);
        if (o.native?.(route)) {
          res.off("close", onClose);
          ctxOf.set(req, ctx);
          return done();
        }
        const standby = o.standby?.();
        if (standby !== undefined) throw new HttpError(503, standby, { error: `Error: ${standby}` }, { "retry-after": "1" });
      } catch (e) {
        res.off("close", onClose);
        reply.hijack();
        sendError(o.log, req, res, e, policy);
        return done();
      }
      reply.hijack();
      void run(ctx, onClose);
      done();
    });
    // One fastify route per path; the methods of its routes are checked above (405).
    const groups = new Map<string, Route<C, M>[]>();
    for (const r of o.routes.list) {
      const paths = [fastifyPath(r)];
      if (r.parts.at(-1)?.kind === "rest") paths.push(paths[0]!.replace(/\/?\*$/, "") || "/");
      for (const p of paths) {
        const g = groups.get(p) ?? [];
        g.push(r);
        groups.set(p, g);
      }
    }
    for (const [url, group] of groups) {
      app.route({
        method: METHODS,
        url,
        config: { group },
        handler: async (request) => {
          // Only native routes get here (the others are hijacked in onRequest).
          const ctx = ctxOf.get(request.raw);
          if (ctx) await ctx.route.handler(ctx);
        },
      });
    }
    app.setNotFoundHandler(() => undefined);
    await app.ready();
  })();
  plugins.catch(() => undefined); // reported by listen()

  return {
    get server() {
      return server;
    },
    limitStats: limiter.stats,
    tls: !!o.tls,
    async listen(host, port) {
      await plugins;
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
    async close() {
      await plugins.catch(() => undefined);
      // The server was started here (not by fastify's listen), so it is closed here too.
      if (server.listening) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          const t = setTimeout(
            () => {
              for (const s of sockets) s.destroy();
            },
            o.closeAtOnce ? 0 : 2_000,
          );
          t.unref();
          server.once("close", () => clearTimeout(t));
        });
      }
      await app.close();
    },
  };
}
