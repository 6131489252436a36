/**
 * Request targets: strict path parsing (every segment percent-decoded on its own, traversal and
 * separators refused), run on every request before routing decides anything; and the route table
 * the APIs fill (fastify matches it: see server.ts).
 */
import type * as http from "node:http";
import type { FastifyReply } from "fastify";
import { HttpError, badRequest } from "./errors.js";

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

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** What a handler gets for one request. `C` is the caller type of the auth hook. */
export interface RequestContext<C, M> {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  /** The strictly decoded path segments (see {@link parseTarget}). */
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
  /** Cookies of the request (@fastify/cookie). */
  cookies: Record<string, string | undefined>;
  /** fastify's reply: used only by native routes (static files); the others answer on `res`. */
  reply: FastifyReply;
}

export type Handler<C, M> = (ctx: RequestContext<C, M>) => Promise<void> | void;

/** One route: methods, a pattern of literal, `:param` and a trailing `*rest` segment, metadata, handler. */
export interface Route<C, M> {
  methods: readonly string[];
  pattern: string;
  meta: M;
  handler: Handler<C, M>;
  parts: { kind: "lit" | "param" | "rest"; value: string }[];
}

/**
 * The routes of one API, in registration order. Matching is fastify's (find-my-way); this table
 * only checks the patterns and keeps each route's metadata for the hooks.
 */
export class Routes<C = unknown, M = undefined> {
  readonly list: Route<C, M>[] = [];

  add(methods: readonly string[], pattern: string, meta: M, handler: Handler<C, M>): this {
    const parts = pattern
      .split("/")
      .filter(Boolean)
      .map((p, i, all) => {
        if (p.startsWith("*")) {
          if (i !== all.length - 1) throw new Error(`routes: *rest must be last in ${pattern}`);
          return { kind: "rest" as const, value: p.slice(1) };
        }
        if (p.startsWith(":")) return { kind: "param" as const, value: p.slice(1) };
        if (/[:*]/.test(p)) throw new Error(`routes: bad segment ${p} in ${pattern}`);
        return { kind: "lit" as const, value: p };
      });
    this.list.push({ methods, pattern, meta, handler, parts });
    return this;
  }
}

/**
 * Params and rest of `route` for the strictly decoded `segments` (fastify matched the raw path;
 * the handler sees the strict decoding). Undefined when they disagree (never for a path that
 * passed {@link parseTarget}).
 */
export function bindParts<C, M>(route: Route<C, M>, segs: readonly string[]): { params: Record<string, string>; rest: string[] } | undefined {
  const params: Record<string, string> = {};
  const parts = route.parts;
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
