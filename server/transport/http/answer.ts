/** Writing answers: JSON or text with an exact Content-Length and the security headers. */
import type * as http from "node:http";

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
