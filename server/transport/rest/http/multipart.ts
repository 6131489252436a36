/**
 * Content-type parameters and a streaming multipart/form-data parser: parts are yielded with their
 * body as an async iterable; nothing is buffered beyond one chunk plus a delimiter's length.
 */
import { HttpError, badRequest } from "./errors.js";

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
