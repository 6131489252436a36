/**
 * The Keystone verifier's logic (role map, cache bounds and deadlines, negative answers, refusal
 * when Keystone cannot be asked) against a scripted HTTP answerer on 127.0.0.1:0 and a fake clock.
 * The real Keystone is in test/integration/keystone.test.ts.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { DomainError } from "../../../../server/domain/errors.js";
import { KeystoneTokenVerifier, mapKeystoneRoles, parseKeystoneUrl } from "../../../../server/transport/keystone/keystone-verifier.js";
import { TokenCache, tokenKey } from "../../../../server/transport/keystone/token-cache.js";
import { createKeystoneVerifier } from "../../../../server/transport/keystone/create-keystone-verifier.js";
import { createLogger } from "../../../../server/lib/log.js";
import { AuthRefusal, createAuthenticate } from "../../../../server/transport/http/authenticate.js";
import { keystoneOptions, resolveKeystone } from "../../../../server/config/keystone-options.js";
import { parseControllerArgs, resolveControllerConfig } from "../../../../server/config/controller-config.js";

interface Seen {
  path: string;
  subject: string | undefined;
  auth: string | undefined;
}

/** Answers GET /v3/auth/tokens from `script(token)`; `hold` tokens get no answer until released. */
class Scripted {
  seen: Seen[] = [];
  held: http.ServerResponse[] = [];
  onHold: (() => void) | undefined;
  /** Resolves once `n` requests are held. */
  holding(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => this.held.length >= n && resolve();
      this.onHold = check;
      check();
    });
  }
  server = http.createServer((req, res) => {
    const subject = req.headers["x-subject-token"] as string | undefined;
    this.seen.push({ path: req.url ?? "", subject, auth: req.headers["x-auth-token"] as string | undefined });
    const a = this.script(subject ?? "");
    if (a === "hold") {
      this.held.push(res);
      this.onHold?.();
      return;
    }
    res.writeHead(a.status, { "content-type": "application/json" });
    res.end(a.body === undefined ? "" : typeof a.body === "string" ? a.body : JSON.stringify(a.body));
  });
  script: (token: string) => { status: number; body?: unknown } | "hold" = () => ({ status: 404 });
  url = "";
  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop() {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const T0 = Date.parse("2030-01-01T00:00:00Z");
const valid = (user: string, roles: string[], expiresAt = T0 + 3600_000) => ({
  status: 200,
  body: { token: { user: { name: user, domain: { id: "default" } }, roles: roles.map((name) => ({ id: name, name })), expires_at: new Date(expiresAt).toISOString() } },
});

describe("Keystone token verifier", () => {
  const ks = new Scripted();
  let now = T0;
  const verifiers: KeystoneTokenVerifier[] = [];
  const make = (o: Partial<ConstructorParameters<typeof KeystoneTokenVerifier>[0]> = {}) => {
    const v = new KeystoneTokenVerifier({ url: `${ks.url}/v3/`, now: () => now, ...o });
    verifiers.push(v);
    return v;
  };
  before(() => ks.start());
  after(async () => {
    for (const v of verifiers) v.close();
    await ks.stop();
  });
  beforeEach(() => {
    now = T0;
    ks.seen = [];
    for (const r of ks.held.splice(0)) r.destroy();
    ks.script = (t) => (t === "adm" ? valid("alice", ["reader", "admin", "member"]) : t === "mem" ? valid("bob", ["_member_"]) : { status: 404 });
  });

  it("maps Keystone roles to ours, the highest winning, and refuses a token with none of them", () => {
    expect(mapKeystoneRoles(["reader", "member", "admin"])).to.equal("admin");
    expect(mapKeystoneRoles(["reader", "_member_"])).to.equal("operator");
    expect(mapKeystoneRoles(["Member"])).to.equal("operator");
    expect(mapKeystoneRoles(["reader", "heat_stack_user"])).to.equal("reader");
    expect(mapKeystoneRoles(["service", "heat_stack_user", "toString", "__proto__"])).to.equal(undefined);
    expect(mapKeystoneRoles([])).to.equal(undefined);
  });

  it("asks GET {url}/v3/auth/tokens with the token as X-Subject-Token and X-Auth-Token and names the caller keystone:<user>", async () => {
    const v = make();
    expect(await v.verify("adm")).to.deep.equal({ tokenId: "keystone:alice", role: "admin" });
    expect(await v.verify("mem")).to.deep.equal({ tokenId: "keystone:bob", role: "operator" });
    expect(ks.seen).to.deep.equal([
      { path: "/v3/auth/tokens?nocatalog", subject: "adm", auth: "adm" },
      { path: "/v3/auth/tokens?nocatalog", subject: "mem", auth: "mem" },
    ]);
  });

  it("refuses (null) a token whose roles map to none of ours, and sanitises the user name", async () => {
    ks.script = (t) => (t === "svc" ? valid("nova", ["service"]) : valid("evil\n\u001b[31mname" + "x".repeat(100), ["reader"]));
    const v = make();
    expect(await v.verify("svc")).to.equal(null);
    const c = await v.verify("odd");
    expect(c!.tokenId).to.match(/^keystone:evil\?\?\[31mnamex+$/);
    expect(c!.tokenId.length).to.equal("keystone:".length + 64);
  });

  it("keeps a valid answer until min(expires_at, 60 s), then asks again (a revoked token is refused after at most 60 s)", async () => {
    const v = make();
    for (let i = 0; i < 5; i++) expect((await v.verify("adm"))!.role).to.equal("admin");
    expect(ks.seen).to.have.length(1);
    // Revoked in Keystone: still the kept answer before 60 s, refused from 60 s on.
    ks.script = () => ({ status: 404 });
    now = T0 + 59_999;
    expect(await v.verify("adm")).to.not.equal(null);
    now = T0 + 60_000;
    expect(await v.verify("adm")).to.equal(null);
    expect(ks.seen).to.have.length(2);
    // A token expiring in 10 s is kept 10 s, not 60.
    ks.script = () => valid("carol", ["reader"], now + 10_000);
    expect(await v.verify("short")).to.not.equal(null);
    now += 10_000;
    ks.script = () => valid("carol", ["reader"], now - 1);
    expect(await v.verify("short"), "expired per expires_at").to.equal(null);
    expect(ks.seen).to.have.length(4);
  });

  it("with cacheTtlMs 0 asks Keystone on every call", async () => {
    const v = make({ cacheTtlMs: 0 });
    await v.verify("adm");
    await v.verify("adm");
    expect(ks.seen).to.have.length(2);
  });

  it("keeps unknown (404), unauthorised (401) and expired answers briefly, so a flood of one bad token asks once per few seconds", async () => {
    ks.script = (t) => (t === "gone" ? { status: 401 } : t === "old" ? valid("d", ["admin"], T0 - 1) : { status: 404 });
    const v = make({ negativeTtlMs: 5000 });
    for (const t of ["nope", "gone", "old"]) for (let i = 0; i < 10; i++) expect(await v.verify(t)).to.equal(null);
    expect(ks.seen).to.have.length(3);
    now = T0 + 5000;
    expect(await v.verify("nope")).to.equal(null);
    expect(ks.seen).to.have.length(4);
  });

  it("refuses garbage that cannot be a header value without asking Keystone", async () => {
    const v = make();
    for (const t of ["", "a b", "x\r\nX-Evil: 1", "é", "z".repeat(9000)]) expect(await v.verify(t)).to.equal(null);
    expect(ks.seen).to.have.length(0);
  });

  it("shares one request among concurrent calls for one token", async () => {
    const v = make();
    const answers = await Promise.all(Array.from({ length: 20 }, () => v.verify("mem")));
    expect(answers.every((a) => a?.role === "operator")).to.equal(true);
    expect(ks.seen).to.have.length(1);
    expect(v.requests).to.equal(1);
  });

  it("bounds the cache: the oldest answer goes first", async () => {
    ks.script = (t) => valid(t, ["reader"]);
    const v = make({ maxEntries: 3 });
    for (const t of ["a", "b", "c", "d"]) await v.verify(t);
    expect(v.cached).to.equal(3);
    await v.verify("b");
    await v.verify("a");
    expect(ks.seen.map((s) => s.subject)).to.deep.equal(["a", "b", "c", "d", "a"]);
  });

  it("throws DomainError unavailable (never a caller) on 5xx, 403, a non-JSON answer, a refused connection and a timeout, and keeps none of them", async () => {
    const kinds = async (v: KeystoneTokenVerifier, t: string) => {
      try {
        await v.verify(t);
        return "resolved";
      } catch (e) {
        return e instanceof DomainError ? `${e.kind} ${e.reason}` : String(e);
      }
    };
    ks.script = (t) => (t === "500" ? { status: 500 } : t === "403" ? { status: 403 } : t === "html" ? { status: 200, body: "<html>" } : "hold");
    const v = make({ timeoutMs: 200 });
    for (const t of ["500", "403", "html", "slow"]) expect(await kinds(v, t), t).to.equal("unavailable KEYSTONE_UNAVAILABLE");
    expect(await kinds(v, "500")).to.equal("unavailable KEYSTONE_UNAVAILABLE");
    expect(ks.seen.filter((s) => s.subject === "500")).to.have.length(2);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await kinds(make({ url: `http://127.0.0.1:${port}` }), "adm")).to.equal("unavailable KEYSTONE_UNAVAILABLE");
  });

  it("refuses (unavailable) new lookups beyond maxInFlight instead of queueing them on Keystone", async () => {
    ks.script = () => "hold";
    const v = make({ maxInFlight: 2, timeoutMs: 2000 });
    const a = v.verify("one").catch((e: Error) => e);
    const b = v.verify("two").catch((e: Error) => e);
    const same = v.verify("one").catch((e: Error) => e);
    let third: unknown;
    try {
      await v.verify("three");
    } catch (e) {
      third = e;
    }
    expect((third as DomainError).kind).to.equal("unavailable");
    await ks.holding(2);
    expect(v.requests).to.equal(2);
    expect(ks.seen.map((s) => s.subject).sort()).to.deep.equal(["one", "two"]);
    for (const r of ks.held.splice(0)) {
      r.writeHead(404);
      r.end();
    }
    expect(await a).to.equal(null);
    expect(await b).to.equal(null);
    expect(await same).to.equal(null);
  });

  it("the front door routes swp_ tokens to our AuthManager and the rest to Keystone (null → refused 'invalid')", async () => {
    const ours = { verify: async (t: string) => ({ tokenId: t.slice(4, 8), role: "reader" as const }) };
    const authenticate = createAuthenticate({ auth: ours, externalTokens: make(), log: createLogger({ level: "silent" }) });
    const req = (token: string) =>
      ({ headers: { "x-auth-token": token }, socket: { localAddress: "10.0.0.1", remoteAddress: "10.0.0.2" } }) as unknown as http.IncomingMessage;
    expect((await authenticate(req("swp_abcd"), {})).caller).to.deep.equal({ tokenId: "abcd", role: "reader" });
    expect((await authenticate(req("mem"), {})).caller).to.deep.equal({ tokenId: "keystone:bob", role: "operator" });
    const err = await authenticate(req("unknown"), {}).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AuthRefusal);
    expect((err as AuthRefusal).reason).to.equal("invalid");
  });
});

describe("Keystone over https (--keystone-ca)", () => {
  let dir: string;
  let server: https.Server;
  let url: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "swpatch-ks-tls-"));
    const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=keystone.test"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]),
      {
        stdio: "ignore",
      },
    );
    server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(valid("tls-user", ["member"], Date.now() + 3600_000).body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v3`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("trusts the --keystone-ca file and refuses (503) a Keystone certificate it does not chain to", async () => {
    const log = createLogger({ level: "silent" });
    const trusted = await createKeystoneVerifier({ url, caFile: path.join(dir, "cert.pem"), cacheTtlMs: 60_000 }, log);
    const untrusted = await createKeystoneVerifier({ url, caFile: undefined, cacheTtlMs: 60_000 }, log);
    try {
      expect(await trusted.verify("t")).to.deep.equal({ tokenId: "keystone:tls-user", role: "operator" });
      const e = await untrusted.verify("t").catch((x: DomainError) => x);
      expect((e as DomainError).kind).to.equal("unavailable");
      expect((e as DomainError).message).to.match(/Keystone unreachable \((SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT)/);
    } finally {
      trusted.close();
      untrusted.close();
    }
    const missing = await createKeystoneVerifier({ url, caFile: path.join(dir, "nope.pem"), cacheTtlMs: 0 }, log).catch((x: DomainError) => x);
    expect((missing as DomainError).kind).to.equal("invalid-argument");
    expect((missing as DomainError).message).to.match(/^--keystone-ca .*nope\.pem: ENOENT/);
  });
});

describe("TokenCache", () => {
  it("never keeps an answer whose deadline is not in the future and keys tokens by sha256", () => {
    let now = 1000;
    const c = new TokenCache<string>(2, () => now);
    c.set("k", "v", 1000);
    expect(c.get("k")).to.equal(undefined);
    c.set("k", "v", 1001);
    expect(c.get("k")).to.deep.equal({ value: "v" });
    now = 1001;
    expect(c.get("k")).to.equal(undefined);
    expect(c.size).to.equal(0);
    expect(tokenKey("abc")).to.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("controller flags: --keystone-url, --keystone-ca, --keystone-cache-seconds", () => {
  it("parses and normalises them, off by default", () => {
    expect(resolveControllerConfig({}, {}).keystone).to.equal(undefined);
    const o = parseControllerArgs(["--keystone-url", "https://ks.example:5000/v3/", "--keystone-ca", "ca.pem", "--keystone-cache-seconds", "5"]);
    const c = resolveControllerConfig(o, {}).keystone!;
    expect(c.url).to.equal("https://ks.example:5000");
    expect(c.caFile).to.match(/\/ca\.pem$/);
    expect(c.cacheTtlMs).to.equal(5000);
    expect(resolveKeystone({ keystoneUrl: "http://127.0.0.1:5000/identity" })).to.deep.equal({
      url: "http://127.0.0.1:5000/identity",
      caFile: undefined,
      cacheTtlMs: 60_000,
    });
    expect(keystoneOptions({})).to.deep.equal({});
  });

  it("refuses nonsense naming the flag", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ keystoneUrl: "ftp://x" }, /--keystone-url: expected an http/],
      [{ keystoneUrl: "http://u:p@x:5000" }, /--keystone-url: .*without credentials/],
      [{ keystoneUrl: "not a url" }, /--keystone-url: not a URL/],
      [{ keystoneUrl: "http://x:5000", keystoneCa: "ca.pem" }, /--keystone-ca needs an https/],
      [{ keystoneUrl: "http://x:5000", keystoneCacheSeconds: 61 }, /--keystone-cache-seconds: expected a whole number in 0..60/],
      [{ keystoneCa: "ca.pem" }, /need --keystone-url/],
    ];
    for (const [o, re] of bad) expect(() => resolveKeystone(o)).to.throw(DomainError, re);
    expect(parseKeystoneUrl("http://[::1]:5000/v3").href).to.equal("http://[::1]:5000/");
  });
});
