/**
 * Static files of the built web console (Vite output, e.g. dist/web): served read-only from one
 * directory with @fastify/static (reply.sendFile: no ETag/Last-Modified, our Cache-Control and
 * content types). Paths come from the HTTP layer already split and checked (no `.`/`..`, no
 * separators inside a segment); hidden names are refused too, and the resolved file must stay
 * inside the directory. Unknown paths without an extension get index.html (client-side routes); a
 * missing build gets a short HTML page saying so, never a blank screen.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Headers on every console page and asset: no framing, no inline script, same-origin only. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
});

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sw-patch console</title></head>
<body><main><h1>sw-patch web console</h1><p>The console has not been built on this controller.
Run <code>npm run build</code> and reload this page.</p></main></body></html>`;

/**
 * reply.sendFile options. `highWaterMark`: @fastify/send hands its own (unset: null) to
 * fs.createReadStream, which on Node 20 then reads in 16 KiB chunks instead of its 64 KiB default:
 * four reads and socket writes where one does (measured: ~1.9x the controller CPU per request for a
 * 230 KB asset, `npm run bench -- http`). @fastify/static passes it through at run time; its
 * SendOptions type does not list it.
 */
const SEND_OPTIONS = { cacheControl: false, etag: false, lastModified: false, dotfiles: "deny", acceptRanges: false, highWaterMark: 64 * 1024 } as const;

export interface StaticFiles {
  /** The directory served. */
  readonly root: string;
  /** Sets the headers of the files this serves (a fastify onSend hook; call once, before ready). */
  install(app: FastifyInstance): void;
  serve(reply: FastifyReply, segments: readonly string[]): Promise<void>;
}

export function createStaticFiles(staticDir: string): StaticFiles {
  const root = path.resolve(staticDir);
  const headersOf = new WeakMap<FastifyReply, Record<string, string>>();

  const send = async (reply: FastifyReply, file: string, cache: string) => {
    const type = TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
    headersOf.set(reply, { ...PAGE_SECURITY_HEADERS, "content-type": type, "cache-control": cache });
    await reply.sendFile(path.relative(root, file), root, SEND_OPTIONS);
  };

  const plain = (reply: FastifyReply, status: number, type: string, body: string) =>
    reply
      .code(status)
      .headers({ ...PAGE_SECURITY_HEADERS, "content-type": type, "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store" })
      .send(reply.request.method === "HEAD" ? undefined : body);

  const statFile = async (file: string) => {
    try {
      const st = await fsp.stat(file);
      return st.isFile() ? st : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    root,
    install(app) {
      app.addHook("onSend", async (_request, reply, payload) => {
        const h = headersOf.get(reply);
        if (h) reply.headers(h);
        return payload;
      });
    },
    async serve(reply, segments) {
      const hidden = segments.some((s) => s.startsWith("."));
      const file = path.join(root, ...segments);
      const inside = file === root || file.startsWith(root + path.sep);
      if (!hidden && inside && segments.length) {
        const st = await statFile(file);
        if (st) {
          const immutable = segments[0] === "assets";
          return send(reply, file, immutable ? "public, max-age=31536000, immutable" : "no-cache");
        }
      }
      const last = segments[segments.length - 1] ?? "";
      if (segments.length && (hidden || last.includes("."))) return void (await plain(reply, 404, "text/plain; charset=utf-8", "Not found\n"));
      const index = path.join(root, "index.html");
      if (await statFile(index)) return send(reply, index, "no-cache");
      await plain(reply, 503, "text/html; charset=utf-8", NOT_BUILT);
    },
  };
}
