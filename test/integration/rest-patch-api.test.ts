/**
 * The reference patching HTTP API (spec 5.2 / 6.2) driven with plain node:http against a real
 * controller built in-process (createController: real sqlite, real gRPC port) with real agent
 * processes connected over gRPC, and createPatchApiServer mounted on its patches/hosts. Until the
 * controller wires `--patch-api-listen`, the test opens its own AuthManager/AuditLog over the same
 * sqlite file (WAL: a second connection sees the controller's tokens and audit rows).
 */
import { expect } from "chai";
import * as http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startAgent, type AgentHandle, type AgentSpec } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_CERT, DEV_KEY, FORMAL_CERT } from "../lib/controller-harness.js";
import { rawClients, uploadStream } from "../lib/grpc-clients.js";
import { createController, type Controller } from "../../server/controller/controller.js";
import { resolveControllerConfig } from "../../server/config/controller-config.js";
import { createLogger } from "../../server/lib/log.js";
import { Db } from "../../server/storage/sqlite/db.js";
import { migrations } from "../../server/storage/sqlite/migrations/index.js";
import { AuthStore } from "../../server/storage/sqlite/auth-store.js";
import { AuthManager, AuditLog } from "../../server/domain/auth/index.js";
import { createPatchApiServer, type PatchApiServer } from "../../server/transport/rest/patch-api.js";
import { PatchState } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with node:http; `body` may be a Buffer or chunks written one by one. */
function request(
  base: string,
  method: string,
  target: string,
  o: { token?: string; headers?: Record<string, string>; body?: Buffer | Buffer[]; contentLength?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers["x-auth-token"] = o.token;
    const chunks = o.body === undefined ? [] : Array.isArray(o.body) ? o.body : [o.body];
    if (o.contentLength !== undefined) headers["content-length"] = String(o.contentLength);
    else if (!Array.isArray(o.body)) headers["content-length"] = String(chunks.reduce((n, c) => n + c.length, 0));
    const req = http.request({ host: u.hostname, port: u.port, method, path: target, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", (e) => {
      // The server may answer (413) and close before the whole body is written.
      if ((e as NodeJS.ErrnoException).code !== "EPIPE" && (e as NodeJS.ErrnoException).code !== "ECONNRESET") reject(e);
    });
    void (async () => {
      for (const c of chunks) {
        if (req.destroyed) return;
        if (!req.write(c)) await new Promise((r) => req.once("drain", r));
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })();
  });
}

/** A multipart/form-data body with one file part, split into odd-sized chunks. */
function multipart(
  fileName: string,
  data: Buffer,
  o: { boundary?: string; field?: string; close?: boolean; extra?: Buffer } = {},
): { body: Buffer; contentType: string } {
  const b = o.boundary ?? "----swpatchTestBoundary7MA4YWxkTrZu0gW";
  const head = Buffer.from(
    `preamble ignored\r\n--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${b}\r\n` +
      `Content-Disposition: form-data; name="${o.field ?? "file"}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = o.close === false ? Buffer.alloc(0) : Buffer.from(`\r\n--${b}--\r\n`);
  return { body: Buffer.concat([head, data, o.extra ?? Buffer.alloc(0), tail]), contentType: `multipart/form-data; boundary=${b}` };
}

/** Splits `buf` into chunks of varying sizes (so delimiters straddle chunk edges). */
function splitOdd(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const sizes = [1, 7, 3, 4096, 13, 65536, 2, 31];
  for (let i = 0, k = 0; i < buf.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

const HOSTS: AgentSpec[] = [
  { hostname: "controller-0", personality: "controller", mgmtIp: "192.178.204.2" },
  { hostname: "compute-0", personality: "worker", mgmtIp: "192.178.204.7" },
  { hostname: "storage-0", personality: "storage", mgmtIp: "192.178.204.9" },
];

const META_KEYS = [
  "description",
  "install_instructions",
  "patchstate",
  "reboot_required",
  "repostate",
  "requires",
  "status",
  "summary",
  "sw_version",
  "unremovable",
  "warnings",
];
const HOST_KEYS = [
  "allow_insvc_patching",
  "duplicated_pkgs",
  "hostname",
  "installed",
  "interim_state",
  "ip",
  "missing_pkgs",
  "nodetype",
  "patch_current",
  "patch_failed",
  "requires_reboot",
  "secs_since_ack",
  "stale_details",
  "state",
  "subfunctions",
  "sw_version",
  "to_remove",
];

describe("REST patching API (spec 6.2) on a real controller with real agents", function () {
  this.timeout(300_000);
  let work: string;
  let dataDir: string;
  let rootsDir: string;
  let ctl: Controller;
  let db: Db;
  let auth: AuthManager;
  let audit: AuditLog;
  let api: PatchApiServer;
  let localApi: PatchApiServer;
  let smallApi: PatchApiServer;
  let base: string;
  let localBase: string;
  let smallBase: string;
  let adminToken: string;
  const tok: Record<"admin" | "operator" | "reader", string> = { admin: "", operator: "", reader: "" };
  const agents = new Map<string, AgentHandle>();
  let grpc: ReturnType<typeof rawClients>;
  const patchFile = (id: string) => path.join(work, `${id}.patch`);

  const get = (p: string, token = tok.reader) => request(base, "GET", p, { token });
  const post = (p: string, token = tok.operator) => request(base, "POST", p, { token });
  const upload = (fileName: string, data: Buffer, token = tok.operator, o: Parameters<typeof multipart>[2] = {}, b = base) => {
    const m = multipart(fileName, data, o);
    return request(b, "POST", "/patch/upload", { token, headers: { "content-type": m.contentType }, body: splitOdd(m.body), contentLength: m.body.length });
  };
  const pd = async () => (await get("/patch/query")).json.pd as Record<string, Record<string, unknown>>;
  const waitFor = async (what: string, pred: () => Promise<boolean>, ms = 60_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const hostsData = async () => (await get("/patch/query_hosts")).json.data as Record<string, unknown>[];

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-rest-"));
    const build = async (args: string[]) => {
      const r = await runCli("patch_build", [...args, "--release", "19.09", "--key", DEV_KEY, "--output-dir", work]);
      expect(r.rc, r.stderr).to.equal(0);
    };
    const sysinv2 = await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "2" });
    const helper = await buildPayloadRpm({ name: "sysinv-helper", version: "1.0", release: "1" });
    await build([
      "--id",
      "001",
      "--summary",
      "sysinv fix",
      "--desc",
      "Fixes sysinv",
      "--status",
      "REL",
      "--reboot-required",
      "N",
      "--controller",
      helper.file,
      sysinv2.file,
    ]);
    const pkga2 = await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "2" });
    await build(["--id", "002", "--status", "REL", "--reboot-required", "Y", "--req", "001", pkga2.file]);
    const pkgb2 = await buildPayloadRpm({ name: "pkg-b", version: "1.0", release: "2" });
    await build(["--id", "003", "--status", "REL", "--reboot-required", "N", pkgb2.file]);

    dataDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-rest-data-"));
    const config = resolveControllerConfig({
      dataDir,
      listen: "127.0.0.1:0",
      release: "19.09",
      trust: [`${DEV_CERT}:dev`, `${FORMAL_CERT}:formal`],
      baseFeed: feed.dir,
      logLevel: "silent",
    });
    const log = createLogger({ level: "silent" });
    ctl = await createController(config, { log });
    adminToken = readFileSync(ctl.adminTokenFile, "utf8").trim();
    db = await Db.open(path.join(dataDir, "sw-patch.sqlite"), migrations);
    const store = new AuthStore(db);
    auth = new AuthManager({ store });
    audit = new AuditLog(store);
    tok.admin = adminToken;
    tok.operator = (await auth.createToken({ role: "operator" })).token;
    tok.reader = (await auth.createToken({ role: "reader" })).token;

    const deps = { patches: ctl.patches, hosts: ctl.hosts, auth, audit, log };
    api = createPatchApiServer(deps);
    base = `http://127.0.0.1:${(await api.listen("127.0.0.1", 0)).port}`;
    localApi = createPatchApiServer({ ...deps, localTrust: true });
    localBase = `http://127.0.0.1:${(await localApi.listen("127.0.0.1", 0)).port}`;
    smallApi = createPatchApiServer({ ...deps, maxUploadBytes: 1024, maxBodyBytes: 1024 });
    smallBase = `http://127.0.0.1:${(await smallApi.listen("127.0.0.1", 0)).port}`;

    grpc = rawClients({ endpoint: ctl.address, adminToken });
    rootsDir = mkdtempSync(path.join(os.tmpdir(), "swpatch-rest-roots-"));
    for (const h of HOSTS) agents.set(h.hostname, startAgent(ctl.address, h, rootsDir, adminToken));
    await waitFor(
      "agents provisioned",
      async () => {
        const hs = ctl.hosts.list();
        return hs.length === HOSTS.length && hs.every((h) => h.connected && h.patchCurrent === "Yes" && h.agentState === "idle");
      },
      120_000,
    );
  });

  after(async () => {
    grpc?.close();
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await api?.close();
    await localApi?.close();
    await smallApi?.close();
    await ctl?.close();
    await db?.close();
    for (const d of [work, dataDir, rootsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("answers / with the reference banner and serves /patch and /v1 alike", async () => {
    const r = await request(base, "GET", "/");
    expect(r.status).to.equal(200);
    expect(r.text).to.equal("Titanium Cloud Patching API, Available versions: /v1");
    for (const p of ["/patch", "/v1", "/patch/query", "/v1/query?show=all", "/v1/"]) {
      const q = await get(p);
      expect(q.status, p).to.equal(200);
      expect(q.json, p).to.deep.equal({ pd: {} });
      expect(q.headers["content-type"]).to.equal("application/json");
    }
  });

  it("refuses a missing or invalid token with 401 JSON and a too-small role with 403 JSON, audited", async () => {
    const none = await request(base, "GET", "/patch/query");
    expect(none.status).to.equal(401);
    expect(none.json.error).to.match(/missing X-Auth-Token/);
    const bad = await request(base, "POST", "/patch/apply/001", { token: "swp_bogus_token" });
    expect(bad.status).to.equal(401);
    expect(bad.json).to.have.property("error");
    const reader = await post("/patch/apply/001", tok.reader);
    expect(reader.status).to.equal(403);
    expect(reader.json.error).to.equal("Forbidden: role reader may not call ApplyPatches");
    for (const p of ["/patch/delete/001", "/patch/commit/001", "/patch/drop_host/x", "/patch/init_release/20.06", "/patch/upload_dir?dir0=/tmp"]) {
      expect((await post(p, tok.operator)).status, p).to.equal(403);
    }
    const rows = await audit.list({ limit: 1000 });
    const denied = rows.find((r) => r.action === "ApplyPatches" && r.outcome === "PERMISSION_DENIED");
    expect(denied, JSON.stringify(rows)).to.include({ role: "reader", target: "patches=001" });
    expect(denied!.detail).to.match(/^rest POST \/patch\/apply/);
    expect(rows.some((r) => r.action === "ApplyPatches" && r.outcome === "UNAUTHENTICATED")).to.equal(true);
    expect(rows.some((r) => r.action === "DeletePatches" && r.outcome === "PERMISSION_DENIED" && r.role === "operator")).to.equal(true);
  });

  it("upload streams the multipart file field into the domain: 001 is now available", async () => {
    const r = await upload("001.patch", readFileSync(patchFile("001")));
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.deep.equal({ info: "001 is now available\n", warning: "", error: "" });
    const again = await upload("001.patch", readFileSync(patchFile("001")));
    expect(again.json).to.deep.equal({ info: "001 is already imported. Updated metadata only\n", warning: "", error: "" });
    const rows = await audit.list({ limit: 1000 });
    expect(rows.some((x) => x.action === "UploadPatch" && x.outcome === "ok" && /patch=001/.test(x.detail))).to.equal(true);
  });

  it("a browser-style FormData upload (fetch) is parsed too; upload errors carry no 'Error:' prefix", async () => {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(patchFile("003"))]), "003.patch");
    const res = await fetch(`${base}/v1/upload`, { method: "POST", body: form, headers: { "x-auth-token": tok.operator } });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ info: "003 is now available\n", warning: "", error: "" });
    const wrong = await upload("003.txt", readFileSync(patchFile("003")));
    expect(wrong.json).to.deep.equal({ info: "", warning: "", error: "File must end in .patch extension: 003.txt\n" });
    const garbage = await upload("004.patch", Buffer.from("not a patch at all"));
    expect(garbage.status).to.equal(200);
    expect(garbage.json.error).to.match(/^Patch validation failed for 004:\n/);
    const empty = await upload("", Buffer.alloc(0));
    expect(empty.json).to.deep.equal({ error: "Error: No file uploaded" });
    expect(Object.keys(await pd()).sort()).to.deep.equal(["001", "003"]);
  });

  it("an upload over gRPC and the REST query agree (002 uploaded with UploadPatch)", async () => {
    const r = await grpc.patches.uploadPatch(uploadStream(patchFile("002")));
    expect(r.patchId).to.equal("002");
    const q = await pd();
    const g = (await grpc.patches.queryPatches({})).patches;
    expect(Object.keys(q).sort()).to.deep.equal(g.map((p) => p.id).sort());
  });

  it("query and show answer META as spec 6.2 (keys, Y/N, personality-<type>, filters)", async () => {
    const q = await pd();
    const m = q["001"]!;
    expect(
      Object.keys(m)
        .filter((k) => !k.startsWith("personality-"))
        .sort(),
    ).to.deep.equal(META_KEYS);
    expect(m).to.deep.include({
      repostate: "Available",
      patchstate: "Available",
      sw_version: "19.09",
      status: "REL",
      unremovable: "N",
      reboot_required: "N",
      summary: "sysinv fix",
      description: "Fixes sysinv",
      requires: [],
    });
    expect(m["personality-controller"]).to.include("sysinv-helper");
    expect(q["002"]).to.deep.include({ reboot_required: "Y", requires: ["001"] });
    expect((await get("/patch/query?show=applied")).json).to.deep.equal({ pd: {} });
    expect(Object.keys((await get("/patch/query?show=available&release=19.09")).json.pd).sort()).to.deep.equal(["001", "002", "003"]);
    expect((await get("/patch/query?show=all&release=20.06")).json).to.deep.equal({ pd: {} });
    const s = await post("/patch/show/001/nope/002", tok.reader);
    expect(s.status).to.equal(200);
    expect(Object.keys(s.json).sort()).to.deep.equal(["contents", "error", "metadata"]);
    expect(Object.keys(s.json.metadata).sort()).to.deep.equal(["001", "002"]);
    expect(s.json.contents["001"]).to.deep.equal(["sysinv-1.0-2.noarch.rpm", "sysinv-helper-1.0-1.noarch.rpm"]);
    expect(s.json.error).to.equal("nope is unrecognized\n");
  });

  it("query_hosts answers HOST dicts with the reference keys", async () => {
    const data = await hostsData();
    expect(data.map((h) => h.hostname)).to.deep.equal(["compute-0", "controller-0", "storage-0"]);
    for (const h of data) {
      expect(Object.keys(h).sort()).to.deep.equal(HOST_KEYS);
      expect(h).to.deep.include({
        patch_current: true,
        patch_failed: false,
        state: "idle",
        sw_version: "19.09",
        interim_state: false,
        installed: {},
        to_remove: [],
        missing_pkgs: [],
      });
    }
    expect(data.find((h) => h.hostname === "compute-0")).to.deep.include({ ip: "192.178.204.7", nodetype: "worker", subfunctions: ["worker"] });
  });

  it("apply refusals come back inside the JSON with HTTP 200", async () => {
    expect((await post("/patch/apply/nope")).json).to.deep.equal({ info: "", warning: "", error: "Patch nope does not exist\n" });
    expect((await post("/patch/apply/002")).json).to.deep.equal({ info: "", warning: "", error: "001 is required by: 002\n" });
    const viaGet = await get("/patch/apply/001", tok.operator);
    expect(viaGet.status).to.equal(405);
    expect(viaGet.headers.allow).to.equal("POST");
    expect((await pd())["001"]!.repostate).to.equal("Available");
  });

  it("apply 001: in the repo, Partial-Apply over REST and gRPC alike, hosts not current", async () => {
    expect((await post("/patch/apply/001")).json).to.deep.equal({ info: "001 is now in the repo\n", warning: "", error: "" });
    const q = await pd();
    expect(q["001"]).to.deep.include({ repostate: "Applied", patchstate: "Partial-Apply" });
    const g = (await grpc.patches.queryPatches({})).patches.find((p) => p.id === "001")!;
    expect(g.patchState).to.equal(PatchState.PATCH_STATE_PARTIAL_APPLY);
    await waitFor("hosts not current", async () => (await hostsData()).every((h) => h.patch_current === false && h.interim_state === false));
    const c0 = (await hostsData()).find((h) => h.hostname === "controller-0")!;
    expect(c0.installed).to.deep.equal({ sysinv: "1.0-1@noarch" });
    expect(c0.missing_pkgs).to.deep.equal(["sysinv-helper"]);
  });

  it("host_install_async on every host converges to Applied; deprecated and unknown hosts answer in JSON", async () => {
    expect((await post("/patch/host_install/controller-0")).json).to.deep.equal({ error: "Deprecated: Use host_install_async" });
    expect((await post("/patch/host_install_async/nohost")).json).to.deep.equal({ info: "", warning: "", error: "Unknown host specified: nohost\n" });
    expect((await post("/patch/host_install_async")).json).to.deep.equal({ error: "Host must be provided for install" });
    for (const h of HOSTS) {
      const r = await post(`/patch/host_install_async/${h.hostname}${h.hostname === "storage-0" ? "/force" : ""}`);
      expect(r.json).to.deep.equal({ info: `Patch installation request sent to ${h.hostname}.\n`, warning: "", error: "" });
      await waitFor(`${h.hostname} installed`, async () => {
        const x = (await hostsData()).find((d) => d.hostname === h.hostname)!;
        return x.state === "idle" && x.patch_current === true;
      });
    }
    await waitFor("001 Applied", async () => (await pd())["001"]!.patchstate === "Applied");
    expect((await post("/patch/is_applied/001", tok.reader)).json).to.equal(true);
    expect((await post("/patch/is_available/001", tok.reader)).json).to.equal(false);
    expect((await post("/patch/is_applied/001/nope", tok.reader)).json).to.equal(false);
    expect((await get("/patch/is_available/003")).text).to.equal("true");
    const g = (await grpc.patches.isApplied({ patchIds: ["001"] })).result;
    expect(g).to.equal(true);
  });

  it("what_requires and query_dependencies (recursive=yes)", async () => {
    expect((await get("/patch/what_requires/001")).json).to.deep.equal({ info: "001 is required by: 002\n", warning: "", error: "" });
    expect((await get("/patch/what_requires/002/003")).json.info).to.equal("002 is not required by any patches.\n003 is not required by any patches.\n");
    expect((await get("/patch/what_requires/nope")).json).to.deep.equal({ info: "", warning: "", error: "Patch nope does not exist\n" });
    expect((await get("/patch/query_dependencies/002")).json).to.deep.equal({ patches: ["001", "002"], error: "" });
    expect((await get("/patch/query_dependencies/002?recursive=yes")).json).to.deep.equal({ patches: ["001", "002"], error: "" });
    expect((await get("/patch/query_dependencies/nope")).json).to.deep.equal({ patches: [], error: "nope is unrecognized\n" });
  });

  it("apply/--all applies every available patch; remove honours dependents and skip flags", async () => {
    expect((await post("/patch/apply/--all?skip-semantic=yes")).json).to.deep.equal({ info: "002 is now in the repo\n003 is now in the repo\n", warning: "", error: "" });
    expect((await post("/patch/apply/--all")).json.info).to.equal("There are no available patches to be applied.\n");
    expect((await post("/patch/remove/001")).json).to.deep.equal({ info: "", warning: "", error: "001 is required by: 002\n" });
    expect((await post("/patch/remove/002/003?removeunremovable=yes&skipappcheck=yes&skip-semantic=yes")).json).to.deep.equal({
      info: "002 has been removed from the repo\n003 has been removed from the repo\n",
      warning: "",
      error: "",
    });
    await waitFor("002/003 Available", async () => {
      const q = await pd();
      return q["002"]!.patchstate === "Available" && q["003"]!.patchstate === "Available";
    });
  });

  it("report_app_dependencies / query_app_dependencies, and remove's application check", async () => {
    expect((await post("/patch/report_app_dependencies/001?app=myapp")).json).to.equal(true);
    expect((await post("/patch/query_app_dependencies", tok.reader)).json).to.deep.equal({ myapp: ["001"] });
    expect((await post("/patch/remove/001/002")).json.error).to.equal("001 is required by application(s): myapp\n");
    expect((await post("/patch/report_app_dependencies/001")).json).to.deep.equal({ status: 500, error: "Application name must be specified with --app argument." });
    expect((await post("/patch/report_app_dependencies?app=myapp")).json).to.equal(true);
    expect((await get("/patch/query_app_dependencies")).json).to.deep.equal({});
  });

  it("commit_dry_run and commit (admin only); a committed patch is neither removed nor re-imported", async () => {
    expect((await post("/patch/commit_dry_run/001", tok.operator)).status).to.equal(403);
    expect((await post("/patch/commit_dry_run/002", tok.admin)).json).to.deep.equal({
      info: "",
      error: "The following patches are not applied and cannot be committed:\n    002\n",
    });
    expect((await post("/patch/commit_dry_run/nope", tok.admin)).json).to.deep.equal({ info: "", error: "nope is unrecognized\n" });
    expect((await post("/patch/commit_dry_run/001", tok.admin)).json).to.deep.equal({ info: "This commit operation would free 0.00 MiB", error: "" });
    expect((await pd())["001"]!.repostate).to.equal("Applied");
    expect((await post("/patch/commit/001", tok.admin)).json).to.deep.equal({ info: "The patches have been committed.", error: "" });
    expect((await pd())["001"]).to.deep.include({ repostate: "Committed", patchstate: "Committed" });
    expect((await post("/patch/remove/001")).json.error).to.equal("Patch 001 is committed and cannot be removed\n");
    expect((await upload("001.patch", readFileSync(patchFile("001")))).json).to.deep.equal({ info: "001 is committed. Metadata not updated\n", warning: "", error: "" });
  });

  it("delete (admin): refusals in the JSON, then 002 deleted over REST is gone over gRPC too", async () => {
    expect((await post("/patch/delete/001", tok.admin)).json).to.deep.equal({ info: "", warning: "", error: "Patch 001 not in Available state\n" });
    expect((await post("/patch/delete/nope", tok.admin)).json.error).to.equal("Patch nope does not exist\n");
    expect((await post("/patch/delete/002", tok.admin)).json).to.deep.equal({ info: "002 has been deleted\n", warning: "", error: "" });
    const g = (await grpc.patches.queryPatches({})).patches.map((p) => p.id).sort();
    expect(g).to.deep.equal(["001", "003"]);
    expect(Object.keys(await pd()).sort()).to.deep.equal(g);
  });

  it("init_release / del_release (admin), the running release refused", async () => {
    expect((await post("/patch/init_release/20.06", tok.admin)).json).to.deep.equal({ info: "Patch repository for 20.06 has been created\n", warning: "", error: "" });
    expect((await post("/patch/init_release/20.06", tok.admin)).json.info).to.equal("Patch repository for 20.06 already exists\n");
    expect((await post("/patch/del_release/19.09", tok.admin)).json.error).to.equal("Rejected: Requested release 19.09 is running release\n");
    expect((await post("/patch/del_release/20.06", tok.admin)).json).to.deep.equal({ info: "Release 20.06 has been deleted\n", warning: "", error: "" });
    expect((await post("/patch/init_release", tok.admin)).json).to.deep.equal({ error: "Release must be specified" });
  });

  it("hostile requests get a clean 4xx JSON and change nothing stored", async () => {
    const before = JSON.stringify(await pd());
    const data = readFileSync(patchFile("002"));
    expect(data.length).to.be.greaterThan(1024);
    const cases: [string, Promise<Reply>, number][] = [
      ["unknown action", get("/patch/frobnicate/1"), 404],
      ["encoded dot-dot id", get("/patch/show/%2e%2e"), 400],
      ["dot-dot id", request(base, "GET", "/patch/show/../../etc", { token: tok.reader }), 400],
      // Ids and hosts nothing can have: answered as the reference answers an unknown one (200).
      ["encoded slash", post("/patch/delete/..%2fx", tok.admin), 400], // a path problem, refused by the router
      ["NUL in id", post("/patch/apply/a%00b"), 400], // a control character in the path, refused by the router
      ["bad id charset", post("/patch/apply/a;b"), 200],
      ["bad escape", get("/patch/show/%zz"), 400],
      ["bad host", post("/patch/host_install_async/a%20b"), 200],
      ["wrong verb", request(base, "PUT", "/patch/query", { token: tok.reader }), 405],
      ["not multipart", request(base, "POST", "/patch/upload", { token: tok.operator, headers: { "content-type": "application/json" }, body: Buffer.from("{}") }), 400],
      ["no boundary", request(base, "POST", "/patch/upload", { token: tok.operator, headers: { "content-type": "multipart/form-data" }, body: Buffer.from("x") }), 400],
      // A path is taken by its base name (as the reference does); what is left must be a plain name.
      ["path ending in ..", upload("x/..", data), 400],
      ["hidden base name", upload("../.002.patch", data), 400],
      ["path ending in /", upload("/tmp/", data), 400],
      ["%2e%2e file name", upload("%2e%2e.patch", data), 400],
      ["no file field", upload("002.patch", data, tok.operator, { field: "other" }), 400],
      ["truncated file part", upload("002.patch", data.subarray(0, data.length - 100), tok.operator, { close: false }), 400],
      [
        "bad part after a complete file",
        upload("002.patch", data, tok.operator, { extra: Buffer.from("\r\n------swpatchTestBoundary7MA4YWxkTrZu0gW\r\nno colon here\r\n\r\nx"), close: false }),
        400,
      ],
      [
        "second file after a complete file",
        upload("002.patch", data, tok.operator, {
          extra: Buffer.from('\r\n------swpatchTestBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name="file"; filename="003.patch"\r\n\r\nzz'),
        }),
        400,
      ],
      ["oversized upload (Content-Length)", upload("002.patch", data, tok.operator, {}, smallBase), 413],
      ["oversized body elsewhere", request(smallBase, "POST", "/patch/apply/001", { token: tok.operator, body: Buffer.alloc(4096) }), 413],
    ];
    for (const [name, p, status] of cases) {
      const r = await p;
      expect(r.status, `${name}: ${r.text}`).to.equal(status);
      expect(r.json, name).to.be.an("object").with.property("error").that.is.a("string");
    }
    // Chunked (no Content-Length) past the limit: 413 while streaming.
    const m = multipart("002.patch", data);
    const chunked = await request(smallBase, "POST", "/patch/upload", { token: tok.operator, headers: { "content-type": m.contentType }, body: splitOdd(m.body) });
    expect(chunked.status).to.equal(413);
    expect(JSON.stringify(await pd())).to.equal(before);
    expect(Object.keys(await pd())).to.not.include("002");
  });

  it("local trust: loopback callers without a token are admin, unknown tokens ignored, valid tokens keep their role", async () => {
    const anon = await request(localBase, "POST", "/patch/delete/nope");
    expect(anon.status).to.equal(200);
    expect(anon.json.error).to.equal("Patch nope does not exist\n");
    const keystone = await request(localBase, "GET", "/patch/query", { token: "gAAAAABkeystone-token" });
    expect(keystone.status).to.equal(200);
    expect((await request(localBase, "POST", "/patch/delete/nope", { token: tok.reader })).status).to.equal(403);
    expect((await request(localBase, "GET", "/patch/query", { headers: { origin: "http://evil.example" } })).status).to.equal(403);
    expect((await request(localBase, "GET", "/patch/query", { headers: { host: "evil.example:5487" } })).status).to.equal(403);
    const rows = await audit.list({ limit: 1000 });
    expect(rows.some((r) => r.action === "DeletePatches" && r.actor === "local" && r.role === "admin" && r.outcome === "NOT_FOUND")).to.equal(true);
    const open = createPatchApiServer({ patches: ctl.patches, hosts: ctl.hosts, auth, audit, log: createLogger({ level: "silent" }), localTrust: true });
    let refused = "";
    await open.listen("0.0.0.0", 0).catch((e: Error) => (refused = e.message));
    expect(refused).to.match(/loopback/);
    await open.close();
  });

  it("upload_dir (admin only) globs <dir>/*.patch on the server", async () => {
    const dir = path.join(work, "dir");
    mkdirSync(dir);
    copyFileSync(patchFile("002"), path.join(dir, "002.patch"));
    copyFileSync(patchFile("001"), path.join(dir, "001.patch"));
    writeFileSync(path.join(dir, "notes.txt"), "ignored");
    expect((await post(`/patch/upload_dir?dir0=${encodeURIComponent(dir)}`, tok.operator)).status).to.equal(403);
    expect((await post("/patch/upload_dir?dir0=relative/dir", tok.admin)).status).to.equal(400);
    expect((await post("/patch/upload_dir?dir0=/nonexistent-swpatch", tok.admin)).json).to.deep.equal({ error: "No patches found" });
    const r = await post(`/patch/upload_dir?dir0=${encodeURIComponent(dir)}`, tok.admin);
    expect(r.json).to.deep.equal({ info: "001 is committed. Metadata not updated\n002 is now available\n", warning: "", error: "" });
  });

  it("drop_host (admin) removes the host from query_hosts; unknown hosts answer in the JSON", async () => {
    await agents.get("storage-0")!.stop();
    await waitFor("storage-0 offline", async () => !ctl.hosts.list().find((h) => h.hostname === "storage-0")!.connected);
    expect((await post("/patch/drop_host/storage-0", tok.admin)).json).to.deep.equal({ info: "", warning: "", error: "" });
    expect((await hostsData()).map((h) => h.hostname)).to.deep.equal(["compute-0", "controller-0"]);
    expect((await post("/patch/drop_host/storage-0", tok.admin)).json).to.deep.equal({ info: "", warning: "", error: "Unknown host specified: storage-0\n" });
    const g = (await grpc.hosts.listHosts({})).hosts.map((h) => h.hostname).sort();
    expect(g).to.deep.equal(["compute-0", "controller-0"]);
  });

  it("every mutating REST call left an audit row like its RPC", async () => {
    const rows = await audit.list({ limit: 1000 });
    const ok = (action: string) => rows.some((r) => r.action === action && r.outcome === "ok" && r.detail.startsWith("rest "));
    for (const a of [
      "UploadPatch",
      "ApplyPatches",
      "RemovePatches",
      "DeletePatches",
      "CommitPatches",
      "InstallHostAsync",
      "DropHost",
      "ReportAppDependencies",
      "InitRelease",
      "DelRelease",
      "UploadPatchDir",
    ]) {
      expect(ok(a), a).to.equal(true);
    }
    expect(rows.some((r) => r.action === "QueryPatches")).to.equal(false);
  });

  it("upload by path, as the reference client sends it (the part named as typed): stored under its base name; a bad file's reference line comes first", async () => {
    const dir = path.join(work, "by-path");
    mkdirSync(dir);
    const pkg = await buildPayloadRpm({ name: "by-path", version: "1.0", release: "1" });
    const built = await runCli("patch_build", ["--id", "005", "--release", "19.09", "--key", DEV_KEY, "--output-dir", dir, "--all-nodes", pkg.file]);
    expect(built.rc, built.stderr).to.equal(0);
    // requests_toolbelt's MultipartEncoder, as `sw-patch upload /home/sysadmin/005.patch` sends it:
    // a uuid4-hex boundary, the file name exactly as typed, no part Content-Type.
    const referenceRequest = (typed: string, data: Buffer) => {
      const b = "6c5a35e1d4e94c7bb1e0f4a1c6d2b3a9";
      const body = Buffer.concat([
        Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${typed}"\r\n\r\n`),
        data,
        Buffer.from(`\r\n--${b}--\r\n`),
      ]);
      return request(base, "POST", "/patch/upload", { token: tok.operator, headers: { "content-type": `multipart/form-data; boundary=${b}` }, body });
    };
    const r = await referenceRequest("/home/sysadmin/005.patch", readFileSync(path.join(dir, "005.patch")));
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.deep.equal({ info: "005 is now available\n", warning: "", error: "" });
    expect(Object.keys(await pd())).to.include("005");
    // Not a gzip file: the reference's "Failed during patch extraction" first, then why.
    const junk = await referenceRequest("/home/sysadmin/006.patch", Buffer.from("this is not a patch"));
    expect(junk.status).to.equal(200);
    expect(junk.json.error).to.match(/^Patch validation failed for 006:\nFailed during patch extraction\n\S/);
  });

  it("ids and hosts that nothing can have get the reference's answers (HTTP 200), which its client prints", async () => {
    expect((await get("/patch/show/a;b")).json).to.deep.include({ error: "a;b is unrecognized\n" });
    expect((await post("/patch/apply/a;b")).json).to.deep.equal({ info: "", warning: "", error: "Patch a;b does not exist\n" });
    expect((await post("/patch/delete/a;b", tok.admin)).json).to.deep.include({ error: "Patch a;b does not exist\n" });
    const isApplied = await post("/patch/is_applied/a;b");
    expect([isApplied.status, isApplied.json]).to.deep.equal([200, false]);
    const host = await post("/patch/host_install_async/a%20b");
    expect([host.status, host.json.error]).to.deep.equal([200, "Unknown host specified: a b\n"]);
  });
});
