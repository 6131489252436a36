/**
 * Static files of the built web console (Vite output, e.g. dist/web): served read-only from one
 * directory. Paths come from the router already split and checked (no `.`/`..`, no separators
 * inside a segment); hidden names are refused too, and the resolved file must stay inside the
 * directory. Unknown paths without an extension get index.html (client-side routes); a missing
 * build gets a short HTML page saying so, never a blank screen.
 */
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type * as http from "node:http";

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

export interface StaticFiles {
  serve(req: http.IncomingMessage, res: http.ServerResponse, segments: readonly string[]): Promise<void>;
}

export function createStaticFiles(staticDir: string): StaticFiles {
  const root = path.resolve(staticDir);

  const send = async (req: http.IncomingMessage, res: http.ServerResponse, file: string, size: number, cache: string) => {
    const type = TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
    res.writeHead(200, { ...PAGE_SECURITY_HEADERS, "content-type": type, "content-length": String(size), "cache-control": cache });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const s = createReadStream(file);
      s.on("error", () => {
        res.destroy();
        resolve();
      });
      res.on("close", () => {
        s.destroy();
        resolve();
      });
      s.pipe(res);
    });
  };

  const statFile = async (file: string) => {
    try {
      const st = await fsp.stat(file);
      return st.isFile() ? st : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    async serve(req, res, segments) {
      const hidden = segments.some((s) => s.startsWith("."));
      const file = path.join(root, ...segments);
      const inside = file === root || file.startsWith(root + path.sep);
      if (!hidden && inside && segments.length) {
        const st = await statFile(file);
        if (st) {
          const immutable = segments[0] === "assets";
          return send(req, res, file, st.size, immutable ? "public, max-age=31536000, immutable" : "no-cache");
        }
      }
      const last = segments[segments.length - 1] ?? "";
      if (segments.length && (hidden || last.includes("."))) {
        const body = Buffer.from("Not found\n");
        res.writeHead(404, { ...PAGE_SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      const index = path.join(root, "index.html");
      const st = await statFile(index);
      if (st) return send(req, res, index, st.size, "no-cache");
      const body = Buffer.from(NOT_BUILT);
      res.writeHead(503, { ...PAGE_SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "content-length": String(body.length), "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    },
  };
}
