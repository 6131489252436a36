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
 * - `listen`/`close` with connection tracking so close() never hangs on keep-alive sockets.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import type { Logger } from "../../lib/log.js";

// ------------------------------------------------------------------------------------ errors

/** An answer decided by the transport: status plus JSON body (default `{"error": message}`). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, message);

// ------------------------------------------------------------------------------------ responses

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

/** Sends `value` as JSON with an exact Content-Length. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value), "utf8");
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json", "content-length": String(body.length), ...headers });
  res.end(body);
}

/** Sends a text answer. */
export function sendText(res: http.ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8"): void {
  const body = Buffer.from(text, "utf8");
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": contentType, "content-length": String(body.length) });
  res.end(body);
}

// ------------------------------------------------------------------------------------ paths

export const MAX_URL_BYTES = 16 * 1024;

/** A parsed request target: decoded path segments (empty ones dropped) and the query. */
export interface ParsedTarget {
  segments: string[];
  query: URLSearchParams;
}

/**
 * Splits `req.url` into decoded segments. Refuses (400) malformed percent-encoding and any
 * segment that decodes to `.`/`..` or contains `/`, `\`, NUL or a control character; 414 past
 * MAX_URL_BYTES. Empty segments (`//`, trailing `/`) are dropped.
 */
export function parseTarget(rawUrl: string | undefined): ParsedTarget {
  const url = rawUrl ?? "";
  if (url.length > MAX_URL_BYTES) throw new HttpError(414, "request URI too long");
  if (!url.startsWith("/")) throw badRequest("request target must be an absolute path");
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  if (rawPath.includes("#")) throw badRequest("fragment not allowed in request target");
  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw badRequest("malformed percent-encoding in path");
    }
    checkSegment(seg);
    segments.push(seg);
  }
  let query: URLSearchParams;
  try {
    // URLSearchParams never throws on bad escapes; decode strictly ourselves first.
    for (const part of rawQuery.split("&")) if (part) decodeURIComponent(part.replace(/\+/g, " "));
    query = new URLSearchParams(rawQuery);
  } catch {
    throw badRequest("malformed percent-encoding in query");
  }
  for (const [k, v] of query) {
    if (/[\u0000-\u001f\u007f]/.test(k) || /[\u0000\u007f]/.test(v) || /[\u0001-\u0008\u000a-\u001f]/.test(v)) throw badRequest("control character in query");
  }
  return { segments, query };
}

/** Refuses a decoded path segment that could address anything but itself. */
export function checkSegment(seg: string): void {
  if (seg === "." || seg === "..") throw badRequest("path traversal segment refused");
  if (seg.includes("/") || seg.includes("\\")) throw badRequest("path separator inside a path segment refused");
  if (/[\u0000-\u001f\u007f]/.test(seg)) throw badRequest("control character in path refused");
}

// ------------------------------------------------------------------------------------ router

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** What a handler gets for one request. `C` is the caller type of the auth hook. */
export interface RequestContext<C, M> {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  segments: string[];
  query: URLSearchParams;
  params: Record<string, string>;
  /** Segments matched by a trailing `*name` pattern element. */
  rest: string[];
  route: Route<C, M>;
  /** Set by the auth hook (undefined for routes the hook leaves public). */
  caller: C | undefined;
  /** Aborted when the client goes away before the answer is sent. */
  signal: AbortSignal;
}

export type Handler<C, M> = (ctx: RequestContext<C, M>) => Promise<void> | void;

export interface Route<C, M> {
  methods: readonly string[];
  pattern: string;
  meta: M;
  handler: Handler<C, M>;
  parts: { kind: "lit" | "param" | "rest"; value: string }[];
}

/** Routes by method and segment pattern (`/patch/:action/*ids`), first match wins. */
export class Router<C = unknown, M = undefined> {
  private readonly routes: Route<C, M>[] = [];

  add(methods: readonly string[], pattern: string, meta: M, handler: Handler<C, M>): this {
    const parts = pattern
      .split("/")
      .filter(Boolean)
      .map((p, i, all) => {
        if (p.startsWith("*")) {
          if (i !== all.length - 1) throw new Error(`router: *rest must be last in ${pattern}`);
          return { kind: "rest" as const, value: p.slice(1) };
        }
        if (p.startsWith(":")) return { kind: "param" as const, value: p.slice(1) };
        return { kind: "lit" as const, value: p };
      });
    this.routes.push({ methods, pattern, meta, handler, parts });
    return this;
  }

  /** The route for `segments`, or `{allowed}` when only the method is wrong, or undefined. */
  match(method: string, segments: readonly string[]): { route: Route<C, M>; params: Record<string, string>; rest: string[] } | { allowed: string[] } | undefined {
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const m = matchParts(r.parts, segments);
      if (!m) continue;
      if (!r.methods.includes(method)) {
        r.methods.forEach((x) => allowed.add(x));
        continue;
      }
      return { route: r, ...m };
    }
    return allowed.size ? { allowed: [...allowed] } : undefined;
  }
}

function matchParts(parts: Route<unknown, unknown>["parts"], segs: readonly string[]): { params: Record<string, string>; rest: string[] } | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.kind === "rest") return { params, rest: segs.slice(i) };
    const s = segs[i];
    if (s === undefined) return undefined;
    if (p.kind === "lit" && p.value !== s) return undefined;
    if (p.kind === "param") params[p.value] = s;
  }
  return segs.length === parts.length ? { params, rest: [] } : undefined;
}

// ------------------------------------------------------------------------------------ bodies

function declaredLength(req: http.IncomingMessage): number | undefined {
  const v = req.headers["content-length"];
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v)) throw badRequest("invalid Content-Length");
  return Number(v);
}

/** The request body as counted chunks; throws 413 once more than `maxBytes` arrive. */
export async function* bodyStream(req: http.IncomingMessage, maxBytes: number): AsyncGenerator<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > maxBytes) throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw new HttpError(413, `request body exceeds the limit of ${maxBytes} bytes`);
    yield chunk;
  }
  if (declared !== undefined && total !== declared) throw badRequest("request body shorter than its Content-Length");
}

/** The whole body (small bodies only); 413 past `maxBytes`. */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of bodyStream(req, maxBytes)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Reads and drops the body (bounded); for endpoints that take none. */
export async function discardBody(req: http.IncomingMessage, maxBytes: number): Promise<void> {
  for await (const _ of bodyStream(req, maxBytes)) void _;
}

/** Drains any async iterable. */
export async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}

// ------------------------------------------------------------------------------------ content types

/** `multipart/form-data; boundary="x"` → `{type, params}` (type lower-cased). */
export function parseHeaderParams(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: "", params: {} };
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let rest = semi < 0 ? "" : value.slice(semi + 1);
  const re = /^\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))\s*(?:;|$)/;
  while (rest.trim()) {
    const m = re.exec(rest);
    if (!m) {
      // Skip a malformed parameter up to the next `;`.
      const i = rest.indexOf(";");
      if (i < 0) break;
      rest = rest.slice(i + 1);
      continue;
    }
    const key = m[1]!.toLowerCase();
    const val = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!.trim();
    if (!(key in params)) params[key] = val;
    rest = rest.slice(m[0].length);
  }
  // RFC 5987 extended value (filename*=UTF-8''x%20y) wins over the plain one.
  for (const k of Object.keys(params)) {
    if (!k.endsWith("*")) continue;
    const m = /^([A-Za-z0-9!#$&+^`{}~-]+)'[^']*'(.*)$/.exec(params[k]!);
    if (m && m[1]!.toLowerCase() === "utf-8") {
      try {
        params[k.slice(0, -1)] = decodeURIComponent(m[2]!);
      } catch {
        throw badRequest(`malformed ${k} parameter`);
      }
    }
    delete params[k];
  }
  return { type, params };
}

// ------------------------------------------------------------------------------------ multipart

export interface MultipartLimits {
  /** Most parts accepted (default 16). */
  maxParts?: number;
  /** Largest header block of one part (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Largest preamble before the first boundary (default 16 KiB). */
  maxPreambleBytes?: number;
}

/** One part of a multipart body. `body` must be consumed (or is drained) before the next part. */
export interface MultipartPart {
  name: string;
  /** From Content-Disposition `filename` (undefined when absent). */
  filename: string | undefined;
  contentType: string;
  headers: Record<string, string>;
  body: AsyncIterable<Buffer>;
}

const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/;

/** The boundary of a multipart/form-data Content-Type, or a 400. */
export function multipartBoundary(contentType: string | undefined): string {
  const ct = parseHeaderParams(contentType);
  if (ct.type !== "multipart/form-data") throw badRequest("expected a multipart/form-data body");
  const b = ct.params.boundary;
  if (!b || !BOUNDARY_RE.test(b) || b.endsWith(" ")) throw badRequest("multipart: missing or invalid boundary");
  return b;
}

/**
 * Streaming multipart/form-data parser (RFC 7578 / 2046). Yields parts in order; each part's body
 * yields slices of the incoming chunks up to the next delimiter, holding back at most the
 * delimiter's length. Malformed input (no boundary, bad headers, missing Content-Disposition,
 * too many parts, premature end, no closing delimiter) throws HttpError 400; errors of the
 * source (such as 413 from {@link bodyStream}) pass through unchanged.
 */
export async function* parseMultipart(source: AsyncIterable<Buffer>, boundary: string, limits: MultipartLimits = {}): AsyncGenerator<MultipartPart> {
  const maxParts = limits.maxParts ?? 16;
  const maxHeader = limits.maxHeaderBytes ?? 16 * 1024;
  const maxPreamble = limits.maxPreambleBytes ?? 16 * 1024;
  const delim = Buffer.from(`\r\n--${boundary}`, "latin1");
  const it = source[Symbol.asyncIterator]();
  // A virtual CRLF makes a body that starts right with `--boundary` match the delimiter.
  let buf: Buffer = Buffer.from("\r\n");
  let ended = false;
  const bad = (m: string) => new HttpError(400, `multipart: ${m}`);

  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const n = await it.next();
    if (n.done) {
      ended = true;
      return false;
    }
    if (n.value.length) buf = buf.length ? Buffer.concat([buf, n.value]) : n.value;
    return true;
  };
  const need = async (bytes: number): Promise<boolean> => {
    while (buf.length < bytes) if (!(await more())) return false;
    return true;
  };

  // Preamble, then the first delimiter.
  for (;;) {
    const i = buf.indexOf(delim);
    if (i >= 0) {
      buf = buf.subarray(i + delim.length);
      break;
    }
    if (buf.length > maxPreamble + delim.length) throw bad("no boundary found");
    if (!(await more())) throw bad("no boundary found");
  }

  let parts = 0;
  for (;;) {
    // After a delimiter: `--` closes, otherwise optional LWSP then CRLF starts a part.
    if (!(await need(2))) throw bad("unexpected end of body after a boundary");
    if (buf[0] === 0x2d && buf[1] === 0x2d) {
      // Closing delimiter: the epilogue is ignored but read (bounded by the source's limit).
      while (await more()) buf = Buffer.alloc(0);
      return;
    }
    let k = 0;
    for (;;) {
      if (!(await need(k + 2))) throw bad("unexpected end of body after a boundary");
      if (buf[k] === 0x20 || buf[k] === 0x09) {
        if (++k > 64) throw bad("malformed boundary line");
        continue;
      }
      break;
    }
    if (buf[k] !== 0x0d || buf[k + 1] !== 0x0a) throw bad("malformed boundary line");
    buf = buf.subarray(k + 2);
    if (++parts > maxParts) throw bad(`more than ${maxParts} parts`);

    // Headers up to CRLFCRLF (or an immediate CRLF: no headers at all).
    let headerText: string;
    for (;;) {
      if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
        headerText = "";
        buf = buf.subarray(2);
        break;
      }
      const end = buf.indexOf("\r\n\r\n", 0, "latin1");
      if (end >= 0) {
        if (end > maxHeader) throw bad("part headers too large");
        headerText = buf.subarray(0, end).toString("utf8");
        buf = buf.subarray(end + 4);
        break;
      }
      if (buf.length > maxHeader) throw bad("part headers too large");
      if (!(await more())) throw bad("unexpected end of body in part headers");
    }
    const headers: Record<string, string> = {};
    for (const line of headerText ? headerText.split("\r\n") : []) {
      const c = line.indexOf(":");
      if (c <= 0 || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) throw bad("malformed part header");
      const key = line.slice(0, c).trim().toLowerCase();
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) throw bad("malformed part header name");
      headers[key] = line.slice(c + 1).trim();
    }
    const cd = parseHeaderParams(headers["content-disposition"]);
    if (cd.type !== "form-data" || cd.params.name === undefined) throw bad("part without Content-Disposition form-data name");

    let done = false;
    /** The next slice of this part's body, or null at its end. */
    const nextChunk = async (): Promise<Buffer | null> => {
      for (;;) {
        if (done) return null;
        const i = buf.indexOf(delim);
        if (i >= 0) {
          const out = buf.subarray(0, i);
          buf = buf.subarray(i + delim.length);
          done = true;
          return out.length ? out : null;
        }
        const keep = delim.length - 1;
        if (buf.length > keep) {
          const out = buf.subarray(0, buf.length - keep);
          buf = buf.subarray(buf.length - keep);
          return out;
        }
        if (!(await more())) throw bad("unexpected end of body inside a part");
      }
    };
    // Not a generator: a consumer that stops early (return()) leaves the rest to be drained.
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Buffer>> => {
          const c = await nextChunk();
          return c ? { value: c, done: false } : { value: undefined, done: true };
        },
        return: async (): Promise<IteratorResult<Buffer>> => ({ value: undefined, done: true }),
      }),
    };
    yield {
      name: cd.params.name,
      filename: cd.params.filename,
      contentType: headers["content-type"] ?? "text/plain",
      headers,
      body,
    };
    // The consumer moved on: finish (drain) this part's body if it did not.
    while (!done) await nextChunk();
  }
}

// ------------------------------------------------------------------------------------ server

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
}

export interface HttpServer {
  readonly server: http.Server;
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Creates (but does not start) a JSON HTTP server over `router`. */
export function createHttpServer<C, M>(o: HttpServerOptions<C, M>): HttpServer {
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer({ requestTimeout: o.requestTimeoutMs ?? 30 * 60_000, headersTimeout: 60_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
    void handle(req, res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.on("clientError", (err, socket) => {
    if (!socket.writable) return socket.destroy();
    const body = JSON.stringify({ error: "Bad request" });
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    void err;
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
      if (o.authenticate) ctx.caller = await o.authenticate(ctx);
      await m.route.handler(ctx);
      if (!res.headersSent) throw new Error(`handler for ${m.route.pattern} sent no answer`);
    } catch (e) {
      if (ac.signal.aborted || res.destroyed) {
        o.log.info("http client went away", { method: req.method, url: req.url?.slice(0, 256), error: (e as Error)?.message });
        return;
      }
      fail(req, res, e);
    } finally {
      res.off("close", onClose);
    }
  }

  function fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    if (res.headersSent) {
      o.log.error("http error after the answer started", { url: req.url, error: (e as Error)?.message });
      res.destroy();
      return;
    }
    let status: number;
    let body: unknown;
    let headers: Record<string, string> = {};
    if (e instanceof HttpError) {
      status = e.status;
      body = e.body ?? { error: e.message };
      headers = e.headers ?? {};
      o.log.info("http refused", { method: req.method, url: req.url?.slice(0, 256), status, error: e.message });
    } else {
      const ref = randomUUID().slice(0, 8);
      o.log.error("unexpected error", { method: req.method, url: req.url?.slice(0, 256), ref, error: (e as Error)?.stack ?? String(e) });
      status = 500;
      body = { error: `internal error (ref ${ref})` };
    }
    if (!req.complete) {
      // The body was not (fully) read: answer, then stop reading after a short grace period so a
      // hostile client cannot keep streaming into a refused request.
      headers.connection = "close";
      res.once("finish", () => {
        req.resume();
        setTimeout(() => req.socket.destroy(), 2_000).unref();
      });
    }
    sendJson(res, status, body, headers);
  }

  return {
    server,
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
