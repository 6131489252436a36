/**
 * HTTP errors for every HTTP API of the controller: the one `HttpError` (a status decided by the
 * transport), the one mapping of DomainError kinds to HTTP with a small policy per API, and the
 * pipeline that answers any error.
 */
import type * as http from "node:http";
import { randomUUID } from "node:crypto";
import { isDomainError, type DomainErrorKind } from "../../domain/errors.js";
import type { Logger } from "../../lib/log.js";
import { sendJson } from "./answer.js";

/**
 * An answer decided by the transport: status plus JSON body (default: the API's shape of
 * `message`, see {@link ErrorPolicy.shape}), extra headers, and a precise reason for APIs that
 * answer a generic text (the VIM's `debuginfo`).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
    readonly headers?: Record<string, string>,
    readonly detail?: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, message);

/**
 * How one API answers errors: the status of each DomainError kind that may escape a handler
 * (others are 500), and the JSON shape of a message. Refusals the reference answers with HTTP 200
 * (the patch API's error texts) never get here: their handlers answer them.
 */
export interface ErrorPolicy {
  /** Name in logs ("patch-rest", "vim", "console"). */
  readonly api: string;
  readonly kindStatus: Readonly<Partial<Record<DomainErrorKind, number>>>;
  /** The body of an error answer with this status and text (`detail`: our precise reason, if any). */
  shape(status: number, message: string, detail: string | undefined): unknown;
  /** The text of an internal error (500) whose stack is logged under `ref`. */
  internal(ref: string): string;
}

/** `{"error": message}` answers (the patch API and the console); 500s as "internal error (ref X)". */
export function jsonErrorPolicy(api: string, kindStatus: ErrorPolicy["kindStatus"]): ErrorPolicy {
  return { api, kindStatus, shape: (_s, message) => ({ error: message }), internal: (ref) => `internal error (ref ${ref})` };
}

/** The patch REST API: its handlers answer domain refusals (200 with the reference's text); too busy is 503. */
export const PATCH_API_ERRORS = jsonErrorPolicy("patch-rest", { "resource-exhausted": 503 });

/** The web console: 4xx for refusals (the handlers word them: see console-common.ts refusal()). */
export const CONSOLE_ERRORS = jsonErrorPolicy("console", {
  "invalid-argument": 400,
  "not-found": 404,
  "already-exists": 409,
  "failed-precondition": 409,
  "permission-denied": 403,
  unauthenticated: 401,
  "resource-exhausted": 413,
  aborted: 409,
  unavailable: 503,
});

/** The VIM API: the reference's faults; engine rejections of apply/abort are 500 as in the reference (§3.2). */
export const VIM_ERRORS: ErrorPolicy = {
  api: "vim",
  kindStatus: { "invalid-argument": 400, "not-found": 404, "already-exists": 409, "permission-denied": 403, unauthenticated: 401 },
  shape: (status, message, detail) => ({ faultcode: status < 500 ? "Client" : "Server", faultstring: message, debuginfo: detail ?? null }),
  internal: () => "internal error",
};

/** Status, body and headers of `e` under `policy`; `internal` is true for an unexpected error (500). */
export function answerOf(policy: ErrorPolicy, e: unknown): { status: number; body: unknown; headers: Record<string, string>; internal: boolean; ref?: string } {
  if (e instanceof HttpError)
    return { status: e.status, body: e.body ?? policy.shape(e.status, e.message, e.detail), headers: { ...(e.headers ?? {}) }, internal: false };
  if (isDomainError(e)) {
    const status = policy.kindStatus[e.kind];
    if (status !== undefined) return { status, body: policy.shape(status, e.message, undefined), headers: {}, internal: false };
  }
  const ref = randomUUID().slice(0, 8);
  return { status: 500, body: policy.shape(500, policy.internal(ref), undefined), headers: {}, internal: true, ref };
}

/** Refused requests whose declared body is at most this many bytes are drained rather than cut (see sendError). */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * The error pipeline: answers `e` as JSON under `policy`, logged at info (HttpError, mapped kinds)
 * or with the stack under a ref that is never sent (anything else). An answer already started is
 * cut (socket destroyed); an unread request body is drained (≤ 1 MiB declared) or dropped with
 * `connection: close`, reading stopping after a 2 s grace period either way.
 */
export function sendError(log: Logger, req: http.IncomingMessage, res: http.ServerResponse, e: unknown, policy: ErrorPolicy = PATCH_API_ERRORS): void {
  if (res.headersSent) {
    log.error("http error after the answer started", { url: req.url, error: (e as Error)?.message });
    res.destroy();
    return;
  }
  const a = answerOf(policy, e);
  if (a.internal)
    log.error("unexpected error", { api: policy.api, method: req.method, url: req.url?.slice(0, 256), ref: a.ref, error: (e as Error)?.stack ?? String(e) });
  else log.info("http refused", { api: policy.api, method: req.method, url: req.url?.slice(0, 256), status: a.status, error: (e as Error).message });
  if (!req.complete) {
    // The body was not (fully) read. A small declared body (≤ DRAIN_LIMIT) is read and dropped after
    // the answer and the connection kept: closing a socket with unread data makes the kernel send RST,
    // and the client then sees EPIPE/ECONNRESET instead of our answer (a reader's refused upload).
    // Anything larger or undeclared: answer with `connection: close`. Either way reading stops after a
    // short grace period, so a hostile client cannot keep streaming into a refused request.
    const declared = Number(req.headers["content-length"]);
    const small = req.headers["transfer-encoding"] === undefined && Number.isSafeInteger(declared) && declared <= DRAIN_LIMIT;
    if (!small) a.headers.connection = "close";
    res.once("finish", () => {
      req.resume();
      // The socket may already be gone (the client closed it): nothing left to cut then.
      const cut = setTimeout(() => req.socket?.destroy(), 2_000).unref();
      if (small) req.once("end", () => clearTimeout(cut));
    });
  }
  sendJson(res, a.status, a.body, a.headers);
}
