/**
 * Keystone v3 tokens on the HTTP APIs against a real Keystone (Debian's keystone under uwsgi,
 * test/lib/keystone.ts): a controller started with --keystone-url and two real agents; Keystone
 * users with admin, member, _member_, reader and an unmapped role; the reference clients' flow
 * (password login, the catalog's `patching` endpoint of SystemController and `nfv` endpoint, then
 * our APIs with X-Auth-Token) emulated with plain HTTP. One Keystone and one controller for the file.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Metadata, createClient } from "nice-grpc";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { passwordToken, startKeystone, type KeystoneHandle, type KeystoneTokenBody } from "../lib/keystone.js";
import { AdminServiceDefinition } from "../../clients/sdk/src/gen/swpatch/v1/admin_service.js";
import { KeystoneTokenVerifier } from "../../server/transport/keystone/keystone-verifier.js";

interface Reply {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

async function http(method: string, url: string, o: { token?: string; json?: unknown; form?: FormData; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers["x-auth-token"] = o.token;
  let body: string | FormData | undefined;
  if (o.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(o.json);
  } else if (o.form) body = o.form;
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** The URL of a service in a token's catalog, as keystoneauth's get_endpoint picks it. */
function endpointOf(body: KeystoneTokenBody, type: string, region: string, iface: string): string {
  const service = body.token.catalog?.find((s) => s.type === type);
  const e = service?.endpoints.find((x) => (x.region_id ?? x.region) === region && x.interface === iface);
  if (!e) throw new Error(`no ${iface} ${type} endpoint in ${region}: ${JSON.stringify(body.token.catalog)}`);
  return e.url.replace(/\/+$/, "");
}

describe("Keystone v3 tokens on the HTTP APIs (a real Keystone)", function () {
  this.timeout(240_000);
  let ks: KeystoneHandle;
  let cluster: Cluster;
  let work: string;
  let patchApi: string;
  let vim: string;
  let web: string;
  const tokens: Record<string, string> = {};
  const patchFile = (id: string) => path.join(work, `${id}.patch`);
  const upload = (base: string, id: string, token: string) => {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(patchFile(id))]), `${id}.patch`);
    return http("POST", `${base}/patch/upload`, { token, form });
  };
  const signIn = (token: string) => http("POST", `${web}/api/session`, { json: { token }, headers: { "x-sw-patch-console": "1" } });
  const audit = async (after = 0) => {
    const client = createClient(AdminServiceDefinition, cluster.clients.channel, {
      "*": { metadata: Metadata({ authorization: `Bearer ${cluster.controller.adminToken}` }) },
    });
    return (await client.listAuditLog({ afterId: after, limit: 1000 })).entries;
  };

  before(async () => {
    const [k, feed] = await Promise.all([startKeystone(), buildBaseFeed()]);
    ks = k;
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-keystone-test-"));
    const build = async (id: string, rpm: string) => {
      const r = await runCli("patch_build", ["--id", id, "--release", "19.09", "--reboot-required", "N", "--status", "REL", "--key", DEV_KEY, "--output-dir", work, rpm]);
      expect(r.rc, r.stderr).to.equal(0);
    };
    await build("KS_0001", (await buildPayloadRpm({ name: "pkg-b", version: "1.0", release: "7" })).file);
    await build("KS_0002", (await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "7" })).file);
    cluster = await startCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller" },
        { hostname: "controller-1", personality: "controller" },
      ],
      baseFeed: feed.dir,
      controller: {
        extraArgs: [
          ...["--time-scale", "0.01", "--keystone-url", `${ks.url}/v3`],
          ...["--patch-api-listen", "127.0.0.1:0", "--vim-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"],
        ],
      },
    });
    patchApi = `http://${cluster.controller.patchApiAddress}`;
    vim = `http://${cluster.controller.vimAddress}`;
    web = cluster.controller.webUrl!;
    await ks.registerCatalog({ patching: patchApi, nfv: vim });
    for (const user of ["admin", "oper", "viewer", "legacy", "outsider"]) tokens[user] = (await ks.issue(user)).token;
  });

  after(async () => {
    await cluster?.close();
    await ks?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("patch API: admin, member and _member_ tokens query, upload and apply; a reader token queries but may not upload or apply", async () => {
    for (const user of ["admin", "oper", "viewer", "legacy"]) {
      const q = await http("GET", `${patchApi}/patch/query`, { token: tokens[user] });
      expect(q.status, user).to.equal(200);
      expect(q.json.pd, user).to.be.an("object");
    }
    const refused = await upload(patchApi, "KS_0001", tokens.viewer!);
    expect(refused.status).to.equal(403);
    expect(refused.json.error).to.equal("Forbidden: role reader may not call UploadPatch");
    const up = await upload(patchApi, "KS_0001", tokens.oper!);
    expect(up.status).to.equal(200);
    expect(up.json.info).to.equal("KS_0001 is now available\n");
    expect((await http("POST", `${patchApi}/patch/apply/KS_0001`, { token: tokens.viewer })).status).to.equal(403);
    const applied = await http("POST", `${patchApi}/patch/apply/KS_0001`, { token: tokens.legacy });
    expect(applied.status).to.equal(200);
    expect(applied.json.info).to.equal("KS_0001 is now in the repo\n");
    // The audit names the Keystone user, never the token.
    const rows = await audit();
    const mine = rows.filter((r) => r.actor.startsWith("keystone:"));
    expect(mine.map((r) => `${r.actor} ${r.role} ${r.action} ${r.outcome}`)).to.include.members([
      "keystone:viewer reader UploadPatch PERMISSION_DENIED",
      "keystone:oper operator UploadPatch ok",
      "keystone:legacy operator ApplyPatches ok",
    ]);
    for (const r of rows) for (const t of Object.values(tokens)) expect(JSON.stringify(r)).to.not.include(t);
  });

  it("refuses unknown, garbage and role-less Keystone tokens on every API (never ignored)", async () => {
    const fernetShaped = tokens.viewer!.slice(0, -8) + "AAAAAAAA";
    for (const bad of ["garbage", fernetShaped, tokens.outsider!]) {
      const q = await http("GET", `${patchApi}/patch/query`, { token: bad });
      expect(q.status, bad).to.equal(401);
      expect(q.json.error).to.equal("Authentication failed: token refused by keystone");
      expect((await http("GET", `${vim}/api/orchestration/sw-patch/strategy`, { token: bad })).status, bad).to.equal(403);
      const s = await signIn(bad);
      expect(s.status, bad).to.equal(401);
      expect(s.json.error).to.match(/^Sign-in failed: .*token refused by keystone$/);
    }
  });

  it("VIM API: a reader token shows the strategy but may not create one", async () => {
    const shown = await http("GET", `${vim}/api/orchestration/sw-patch/strategy`, { token: tokens.viewer });
    expect(shown.status).to.equal(200);
    expect(shown.json).to.deep.equal({ strategy: null });
    const created = await http("POST", `${vim}/api/orchestration/sw-patch/strategy`, { token: tokens.viewer, json: { "controller-apply-type": "serial" } });
    expect(created.status).to.equal(403);
    expect(await http("GET", `${vim}/api/orchestration/sw-patch/strategy`, { token: tokens.viewer })).to.have.nested.property("json.strategy", null);
  });

  it("console: signs in with a Keystone token as keystone:<user> with that user's mapped role", async () => {
    const s = await signIn(tokens.viewer!);
    expect(s.status).to.equal(200);
    expect(s.json).to.include({ tokenId: "keystone:viewer", role: "reader" });
    expect(s.json.permissions.upload).to.equal(false);
    const cookie = s.headers.get("set-cookie")!.split(";")[0]!;
    const again = await http("GET", `${web}/api/session`, { headers: { cookie } });
    expect(again.status).to.equal(200);
    expect(again.json.tokenId).to.equal("keystone:viewer");
    const admin = await signIn(tokens.admin!);
    expect(admin.json).to.include({ tokenId: "keystone:admin", role: "admin" });
  });

  it("asks Keystone once for many calls with one token (its request log counts the validations)", async () => {
    const { token } = await ks.issue("viewer");
    await ks.sync();
    const before = ks.validations();
    for (let i = 0; i < 5; i++) expect((await http("GET", `${patchApi}/patch/query`, { token })).status).to.equal(200);
    const parallel = await Promise.all(Array.from({ length: 10 }, () => http("GET", `${vim}/api/orchestration/sw-patch/strategy`, { token })));
    expect(parallel.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
    await ks.sync();
    expect(ks.validations() - before).to.equal(1);
  });

  it("revocation: a token revoked before use is refused; a used one is kept at most the cache bound (60 s, fake clock on the real Keystone)", async () => {
    const early = (await ks.issue("oper")).token;
    await ks.revoke(early);
    expect((await http("GET", `${patchApi}/patch/query`, { token: early })).status).to.equal(401);
    // The controller's cache: a token validated just before its revocation still passes (< 60 s).
    const used = (await ks.issue("oper")).token;
    expect((await http("GET", `${patchApi}/patch/query`, { token: used })).status).to.equal(200);
    await ks.revoke(used);
    expect((await http("GET", `${patchApi}/patch/query`, { token: used })).status).to.equal(200);
    // The bound, on the same real Keystone with the verifier's clock moved instead of waiting a minute.
    let now = Date.now();
    const v = new KeystoneTokenVerifier({ url: ks.url, now: () => now });
    const strict = new KeystoneTokenVerifier({ url: ks.url, cacheTtlMs: 0 });
    try {
      const t = (await ks.issue("viewer")).token;
      expect(await v.verify(t)).to.deep.equal({ tokenId: "keystone:viewer", role: "reader" });
      expect(await strict.verify(t)).to.deep.equal({ tokenId: "keystone:viewer", role: "reader" });
      await ks.revoke(t);
      expect(await strict.verify(t), "no cache: refused at once").to.equal(null);
      now += 59_000;
      expect(await v.verify(t), "kept < 60 s").to.not.equal(null);
      now += 1_000;
      expect(await v.verify(t), "asked again at 60 s: revoked").to.equal(null);
    } finally {
      v.close();
      strict.close();
    }
  });

  it("the reference clients' flow: password login, the catalog's patching (SystemController) and nfv endpoints, then query/upload/apply and a whole patch strategy", async () => {
    // sw-patch --os-region-name SystemController: keystoneauth V3Password, get_endpoint(service_type='patching', interface='internal').
    const login = await passwordToken(`${ks.url}/v3`, "admin", "admin-secret");
    const patching = endpointOf(login.body, "patching", "SystemController", "internal");
    expect(patching).to.equal(patchApi);
    const q = await http("GET", `${patching}/patch/query`, { token: login.token });
    expect(q.status).to.equal(200);
    const up = await upload(patching, "KS_0002", login.token);
    expect(up.json).to.deep.equal({ info: "KS_0002 is now available\n", warning: "", error: "" });
    const applied = await http("POST", `${patching}/patch/apply/KS_0002`, { token: login.token });
    expect(applied.json.info).to.equal("KS_0002 is now in the repo\n");
    // sw-manager: the `vim` service of type `nfv` in OS_REGION_NAME, OS_INTERFACE; a member (operator) drives the strategy.
    const member = await passwordToken(`${ks.url}/v3`, "oper", "user-secret");
    const nfv = endpointOf(member.body, "nfv", "RegionOne", "public");
    const strategyUrl = `${nfv}/api/orchestration/sw-patch/strategy`;
    const created = await http("POST", strategyUrl, {
      token: member.token,
      json: {
        "controller-apply-type": "serial",
        "storage-apply-type": "serial",
        "worker-apply-type": "serial",
        "default-instance-action": "stop-start",
        "alarm-restrictions": "strict",
      },
    });
    expect(created.status, JSON.stringify(created.json)).to.equal(200);
    const until = async (states: string[]) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = await http("GET", strategyUrl, { token: member.token });
        expect(s.status).to.equal(200);
        if (states.includes(s.json.strategy.state)) return s.json.strategy;
        if (Date.now() > deadline) throw new Error(`strategy stuck: ${JSON.stringify(s.json.strategy).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const built = await until(["ready-to-apply", "build-failed"]);
    expect(built.state, JSON.stringify(built["build-phase"])).to.equal("ready-to-apply");
    const shown = await http("GET", `${strategyUrl}/${built.uuid}`, { token: member.token });
    expect(shown.json.strategy.uuid).to.equal(built.uuid);
    const apply = await http("POST", `${strategyUrl}/actions`, { token: member.token, json: { action: "apply-all" } });
    expect(apply.status).to.equal(202);
    const abort = await http("POST", `${strategyUrl}/actions`, { token: member.token, json: { action: "abort" } });
    // Aborted while applying (202), or refused because the one-host strategy had already finished.
    expect([202, 500], JSON.stringify(abort.json)).to.include(abort.status);
    const end = await until(["aborted", "applied", "apply-failed", "abort-failed"]);
    expect(["aborted", "applied"]).to.include(end.state);
    const del = await http("DELETE", strategyUrl, { token: member.token });
    expect(del.status).to.equal(204);
    expect((await http("GET", strategyUrl, { token: member.token })).json).to.deep.equal({ strategy: null });
  });

  it("Keystone down: a token not yet validated is refused with 503 on every API; one validated within the cache bound still passes", async () => {
    const fresh = (await ks.issue("admin")).token;
    const validated = (await ks.issue("viewer")).token;
    expect((await http("GET", `${patchApi}/patch/query`, { token: validated })).status).to.equal(200);
    await ks.stop();
    const q = await http("GET", `${patchApi}/patch/query`, { token: fresh });
    expect(q.status).to.equal(503);
    expect(q.json.error).to.match(/^Error: token verification unavailable: Keystone unreachable/);
    expect((await http("GET", `${vim}/api/orchestration/sw-patch/strategy`, { token: fresh })).status).to.equal(503);
    const s = await signIn(fresh);
    expect(s.status).to.equal(503);
    expect(s.json.error).to.match(/token verification unavailable/);
    // Our own tokens do not depend on Keystone.
    expect((await http("GET", `${patchApi}/patch/query`, { token: cluster.controller.adminToken })).status).to.equal(200);
    expect((await http("GET", `${patchApi}/patch/query`, { token: validated })).status).to.equal(200);
  });
});
