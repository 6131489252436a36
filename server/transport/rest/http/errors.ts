/** HTTP errors: `HttpError` (a status decided by the transport) and the pipeline that answers any error. */
import type * as http from "node:http";
import { randomUUID } from "node:crypto";
import type { Logger } from "../../../lib/log.js";
import { sendJson } from "./answer.js";

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

/**
 * The error pipeline: answers `e` as JSON. HttpError → its status, body (default `{"error":
 * message}`) and headers, logged at info; anything else → 500 `{"error": "internal error (ref X)"}`
 * with the stack logged under the ref, never sent. An answer already started is cut (socket
 * destroyed); an unread request body is dropped after a 2 s grace period with `connection: close`.
 */
export function sendError(log: Logger, req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
  if (res.headersSent) {
    log.error("http error after the answer started", { url: req.url, error: (e as Error)?.message });
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
    log.info("http refused", { method: req.method, url: req.url?.slice(0, 256), status, error: e.message });
  } else {
    const ref = randomUUID().slice(0, 8);
    log.error("unexpected error", { method: req.method, url: req.url?.slice(0, 256), ref, error: (e as Error)?.stack ?? String(e) });
    status = 500;
    body = { error: `internal error (ref ${ref})` };
  }
  if (!req.complete) {
    // The body was not (fully) read: answer, then stop reading after a short grace period so a
    // hostile client cannot keep streaming into a refused request.
    headers.connection = "close";
    res.once("finish", () => {
      req.resume();
      // The socket may already be gone (the client closed it): nothing left to cut then.
      setTimeout(() => req.socket?.destroy(), 2_000).unref();
    });
  }
  sendJson(res, status, body, headers);
}
