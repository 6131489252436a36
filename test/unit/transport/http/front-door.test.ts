/**
 * The HTTP front door end to end on real listeners (127.0.0.1:0): VIM calls and refusals audited,
 * --vim-local-trust (loopback only; an unknown token is the local admin unless the external
 * verifier refuses it), refused console sign-ins audited, static files through @fastify/static,
 * https from the --tls-* files with mTLS refusing a client without a certificate, and plain HTTP
 * on a non-loopback address refused without --insecure.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { issue } from "../../../lib/test-certs.js";
import { Orchestrator } from "../../../../server/domain/orchestration/orchestrator.js";
import { DomainError } from "../../../../server/domain/errors.js";
import type { Caller } from "../../../../server/domain/auth/roles.js";
import type { AuditRecord } from "../../../../server/domain/auth/audit-log.js";
import type { ExternalTokenVerifier } from "../../../../server/domain/auth/external-token.js";
import { createLogger } from "../../../../server/lib/log.js";
import { resolveControllerConfig } from "../../../../server/config/controller-config.js";
import { createVimRestServer, type VimRestServer } from "../../../../server/transport/vim-rest.js";
import { createWebConsoleServer, type WebConsoleServer } from "../../../../server/transport/web/web-console.js";
import { httpTlsOf } from "../../../../server/transport/http/listen-policy.js";
import { createMemoryStrategyPersistence } from "../../../lib/memory-strategy-persistence.js";
import { FakeCluster } from "../../orchestration/fake-cluster.js";
import { standard222 } from "../../orchestration/fixtures.js";

const log = createLogger({ level: "silent" });
const OPERATOR = "swp_00000000000000aa_" + "a".repeat(64);
const READER = "swp_00000000000000bb_" + "b".repeat(64);
const auth = {
  async verify(token: string): Promise<Caller> {
    if (token === OPERATOR) return { tokenId: "00000000000000aa", role: "operator" };
    if (token === READER) return { tokenId: "00000000000000bb", role: "reader" };
    throw new DomainError("unauthenticated", "invalid token");
  },
};
const CREATE = {
  "controller-apply-type": "serial",
  "storage-apply-type": "serial",
  "worker-apply-type": "serial",
  "default-instance-action": "stop-start",
};

function recorder() {
  const rows: AuditRecord[] = [];
  return { rows, record: async (r: AuditRecord) => void rows.push(r) };
}

async function call(base: string, method: string, p: string, token?: string, body?: unknown) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { ...(token ? { "x-auth-token": token } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

describe("http front door: VIM audit and --vim-local-trust", () => {
  let orch: Orchestrator;
  const servers: VimRestServer[] = [];
  before(() => {
    orch = new Orchestrator({ port: new FakeCluster(standard222()), persistence: createMemoryStrategyPersistence(), timeScale: 0.0002 });
  });
  after(async () => {
    for (const s of servers) await s.close();
    await orch.close();
  });
  const vim = async (o: Partial<Parameters<typeof createVimRestServer>[0]>) => {
    const s = await createVimRestServer({ orchestrator: orch, listen: "127.0.0.1:0", auth, log, ...o });
    servers.push(s);
    return `http://${s.address}`;
  };

  it("audits every call (reads too) and every refusal, with the peer as source", async () => {
    const audit = recorder();
    const base = await vim({ audit });
    const url = "/api/orchestration/sw-patch/strategy";
    expect((await call(base, "GET", url)).status).to.equal(403);
    expect((await call(base, "POST", url, READER, CREATE)).json).to.deep.include({
      faultstring: "Authorization failed",
      debuginfo: "role reader may not call CreateStrategy",
    });
    expect((await call(base, "POST", url, "swp_nope", CREATE)).status).to.equal(403);
    expect((await call(base, "GET", url, READER)).status).to.equal(200);
    expect((await call(base, "POST", url, OPERATOR, CREATE)).status).to.equal(200);
    expect((await call(base, "POST", url, OPERATOR, CREATE)).status).to.equal(409);
    expect((await call(base, "DELETE", url, OPERATOR, { force: true })).status).to.equal(204);
    const seen = audit.rows.map((r) => [r.action, r.actor, r.outcome, r.refusal]);
    expect(seen).to.deep.equal([
      ["GetStrategy", "anonymous", "UNAUTHENTICATED", true],
      ["CreateStrategy", "00000000000000bb", "PERMISSION_DENIED", true],
      ["CreateStrategy", "anonymous", "UNAUTHENTICATED", true],
      ["GetStrategy", "00000000000000bb", "ok", false],
      ["CreateStrategy", "00000000000000aa", "ok", false],
      ["CreateStrategy", "00000000000000aa", "ALREADY_EXISTS", false],
      ["DeleteStrategy", "00000000000000aa", "ok", false],
    ]);
    expect(audit.rows[0]!.detail).to.equal("vim GET /api/orchestration/sw-patch/strategy: missing token");
    expect(audit.rows.every((r) => r.source === "127.0.0.1")).to.equal(true);
  });

  it("local trust: no token or an unknown (Keystone) token is the local admin on loopback, audited as local", async () => {
    const audit = recorder();
    const base = await vim({ audit, localTrust: true });
    const url = "/api/orchestration/sw-patch/strategy";
    expect((await call(base, "POST", url, "gAAAAAB-keystone-token", CREATE)).status).to.equal(200);
    expect((await call(base, "DELETE", url)).status).to.equal(204);
    expect((await call(base, "POST", url, READER, CREATE)).status).to.equal(403);
    expect(audit.rows.map((r) => [r.action, r.actor, r.role, r.outcome])).to.deep.equal([
      ["CreateStrategy", "local", "admin", "ok"],
      ["DeleteStrategy", "local", "admin", "ok"],
      ["CreateStrategy", "00000000000000bb", "reader", "PERMISSION_DENIED"],
    ]);
  });

  it("local trust: a token the external verifier refuses (null or a throw) is refused, one it knows keeps its role", async () => {
    const audit = recorder();
    const externalTokens: ExternalTokenVerifier = {
      name: "keystone",
      verify: async (t) => {
        if (t === "ks-reader") return { tokenId: "keystone:bob", role: "reader" };
        if (t === "ks-down") throw new DomainError("unavailable", "keystone unreachable");
        return null;
      },
    };
    const base = await vim({ audit, localTrust: true, externalTokens });
    const url = "/api/orchestration/sw-patch/strategy";
    expect((await call(base, "GET", url, "ks-unknown")).json).to.deep.include({ faultstring: "Authorization failed", debuginfo: "token refused by keystone" });
    expect((await call(base, "GET", url, "ks-down")).status).to.equal(503);
    expect((await call(base, "GET", url, "ks-reader")).status).to.equal(200);
    expect((await call(base, "POST", url, "ks-reader", CREATE)).status).to.equal(403);
    expect((await call(base, "GET", url)).status).to.equal(200);
    expect(audit.rows.map((r) => [r.actor, r.outcome])).to.deep.equal([
      ["keystone", "UNAUTHENTICATED"],
      ["keystone", "UNAVAILABLE"],
      ["keystone:bob", "ok"],
      ["keystone:bob", "PERMISSION_DENIED"],
      ["local", "ok"],
    ]);
  });

  it("--vim-local-trust needs a loopback --vim-listen (config and server)", async () => {
    expect(() => resolveControllerConfig({ vimListen: "0.0.0.0:4545", vimLocalTrust: true, insecureListenAny: true }, {})).to.throw(/--vim-local-trust.*loopback/);
    expect(() => resolveControllerConfig({ vimLocalTrust: true }, {})).to.throw(/--vim-local-trust needs --vim-listen/);
    expect(resolveControllerConfig({ vimListen: "127.0.0.1:4545", vimLocalTrust: true }, {}).vimLocalTrust).to.equal(true);
    let refused = "";
    await createVimRestServer({ orchestrator: orch, listen: "0.0.0.0:0", auth, log, localTrust: true }).catch((e: Error) => (refused = e.message));
    expect(refused).to.match(/--vim-local-trust needs a loopback listen address/);
  });

  it("plain HTTP on a non-loopback address is refused without --insecure, naming the flag", () => {
    for (const [flag, key] of [
      ["--vim-listen", "vimListen"],
      ["--patch-api-listen", "patchApiListen"],
      ["--web-listen", "webListen"],
    ] as const) {
      expect(() => resolveControllerConfig({ [key]: "0.0.0.0:8000" }, {})).to.throw(`${flag} 0.0.0.0: refusing to serve plain HTTP on a non-loopback address`);
      expect(() => resolveControllerConfig({ [key]: "0.0.0.0:8000", insecureListenAny: true }, {})).to.not.throw();
    }
  });
});

function get(port: number, p: string, o: { ca: string; cert?: string; key?: string; headers?: Record<string, string> }) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const r = https.request(
      { host: "127.0.0.1", port, path: p, method: "GET", ca: o.ca, ...(o.cert ? { cert: o.cert, key: o.key } : {}), headers: o.headers ?? {} },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    r.on("error", reject);
    r.end();
  });
}

describe("http front door: https listeners and the console", () => {
  let dir: string;
  let orch: Orchestrator;
  const ca = issue("front-door test CA", { ca: true });
  const server = issue("127.0.0.1", { issuer: ca, ip: "127.0.0.1" });
  const client = issue("operator", { issuer: ca, client: true });
  const closers: (() => Promise<void>)[] = [];
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swp-front-door-"));
    for (const [n, t] of [
      ["ca.pem", ca.certPem],
      ["cert.pem", server.certPem],
      ["key.pem", server.keyPem],
    ])
      writeFileSync(path.join(dir, n), t);
    mkdirSync(path.join(dir, "web", "assets"), { recursive: true });
    writeFileSync(path.join(dir, "web", "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(path.join(dir, "web", "assets", "app-1.js"), "console.log(1);");
    writeFileSync(path.join(dir, "web", ".secret"), "no");
    orch = new Orchestrator({ port: new FakeCluster(standard222()), persistence: createMemoryStrategyPersistence(), timeScale: 0.0002 });
  });
  after(async () => {
    for (const c of closers) await c();
    await orch.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const files = () => ({ certFile: path.join(dir, "cert.pem"), keyFile: path.join(dir, "key.pem") });

  it("the VIM API serves https from the --tls-* files; with a client CA a client without a certificate is refused", async () => {
    const tls = await createVimRestServer({ orchestrator: orch, listen: "127.0.0.1:0", auth, log, tls: httpTlsOf(files()) });
    closers.push(() => tls.close());
    const r = await get(tls.port, "/api/orchestration/sw-patch/strategy", { ca: ca.certPem, headers: { "x-auth-token": READER } });
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.body)).to.deep.equal({ strategy: null });
    const mtls = await createVimRestServer({
      orchestrator: orch,
      listen: "127.0.0.1:0",
      auth,
      log,
      tls: httpTlsOf({ ...files(), clientCaFile: path.join(dir, "ca.pem") }),
    });
    closers.push(() => mtls.close());
    let refused: Error | undefined;
    await get(mtls.port, "/api/orchestration/sw-patch/strategy", { ca: ca.certPem, headers: { "x-auth-token": READER } }).catch((e: Error) => (refused = e));
    expect(refused, "no client certificate").to.be.instanceOf(Error);
    const ok = await get(mtls.port, "/api/orchestration/sw-patch/strategy", {
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      headers: { "x-auth-token": READER },
    });
    expect(ok.status).to.equal(200);
  });

  let web: WebConsoleServer;
  let port = 0;
  const audit = recorder();
  it("the console over https: static files with their headers, hidden names refused, index for client routes", async () => {
    web = createWebConsoleServer({
      patches: { runningRelease: "19.09" } as never,
      hosts: {} as never,
      orchestrator: orch,
      events: {} as never,
      auth,
      audit,
      log,
      staticDir: path.join(dir, "web"),
      tls: httpTlsOf(files()),
    });
    closers.push(() => web.close());
    port = (await web.listen("127.0.0.1", 0)).port;
    const asset = await get(port, "/assets/app-1.js", { ca: ca.certPem });
    expect(asset.status).to.equal(200);
    expect(asset.body).to.equal("console.log(1);");
    expect(asset.headers).to.include({
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=31536000, immutable",
      "x-frame-options": "DENY",
    });
    expect(asset.headers).to.not.have.property("etag");
    const page = await get(port, "/hosts/controller-0", { ca: ca.certPem });
    expect(page.status).to.equal(200);
    expect(page.headers).to.include({ "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
    expect((await get(port, "/.secret", { ca: ca.certPem })).status).to.equal(404);
    expect((await get(port, "/assets/%2e%2e/.secret", { ca: ca.certPem })).status).to.equal(400);
  });

  it("the console audits refused sign-ins and refused API calls; a good sign-in sets the session cookie", async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const data = JSON.stringify(body);
        const r = https.request(
          {
            host: "127.0.0.1",
            port,
            path: "/api/session",
            method: "POST",
            ca: ca.certPem,
            headers: { "content-type": "application/json", "x-sw-patch-console": "1", ...headers },
          },
          (res) => {
            let b = "";
            res.on("data", (c: Buffer) => (b += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
          },
        );
        r.on("error", reject);
        r.end(data);
      });
    const bad = await post({ token: "swp_00000000000000cc_" + "c".repeat(64) });
    expect(bad.status).to.equal(401);
    expect(JSON.parse(bad.body)).to.deep.equal({ error: "Sign-in failed: invalid token" });
    const good = await post({ token: OPERATOR });
    expect(good.status).to.equal(200);
    const cookie = String((good.headers["set-cookie"] as string[])[0]).split(";")[0]!;
    expect(cookie).to.match(/^swp_console=[0-9a-f]{64}$/);
    const me = await get(port, "/api/session", { ca: ca.certPem, headers: { cookie } });
    expect(JSON.parse(me.body)).to.include({ tokenId: "00000000000000aa", role: "operator" });
    expect(audit.rows.map((r) => [r.action, r.actor, r.outcome, r.detail])).to.deep.equal([
      ["ConsoleSession", "00000000000000cc", "UNAUTHENTICATED", "web POST /api/session: sign-in: invalid token"],
    ]);
  });
});
