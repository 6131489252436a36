/** Bounded request bodies: counted streaming (413 past the limit, Content-Length checked first). */
import type * as http from "node:http";
import { HttpError, badRequest } from "./errors.js";

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
