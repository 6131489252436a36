import { expect } from "chai";
import * as http from "node:http";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { createVimRestServer, type VimRestServer } from "../../../server/transport/vim-rest.js";
import { DomainError } from "../../../server/domain/errors.js";
import { FakeCluster, defer } from "./fake-cluster.js";
import { standard222 } from "./fixtures.js";

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the VIM REST reply is untyped JSON
  raw: string;
}

function request(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { Accept: "application/json", ...(data ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(data)) } : {}), ...headers },
      },
      (res) => {
        let raw = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (raw += c));
        res.on("end", () => resolve({ status: res.statusCode!, raw, body: raw ? JSON.parse(raw) : undefined }));
      },
    );
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

const CREATE = {
  "controller-apply-type": "serial",
  "storage-apply-type": "serial",
  "worker-apply-type": "parallel",
  "swift-apply-type": "ignore",
  "default-instance-action": "stop-start",
  "max-parallel-worker-hosts": 2,
  "alarm-restrictions": "strict",
};

describe("VIM REST API (spec §3)", () => {
  let orch: Orchestrator;
  let cluster: FakeCluster;
  let gate: ReturnType<typeof defer<void>>;
  let started: ReturnType<typeof defer<void>>;
  let rest: VimRestServer;
  const tokens: (string | undefined)[] = [];

  beforeEach(async () => {
    cluster = new FakeCluster(standard222());
    gate = defer();
    started = defer();
    orch = new Orchestrator({ port: cluster, persistence: createMemoryStrategyPersistence(), timeScale: 0.0002 });
    rest = await createVimRestServer({
      orchestrator: orch,
      listen: "127.0.0.1:0",
      maxBodyBytes: 1024,
      // Local trust (loopback): no token or an unknown one is the local admin; "reader" is a reader.
      localTrust: true,
      auth: {
        verify: async (token: string) => {
          tokens.push(token);
          if (token === "reader") return { tokenId: "r", role: "reader" as const };
          throw new DomainError("unauthenticated", "unknown token");
        },
      },
    });
  });
  afterEach(async () => {
    await rest.close();
    await orch.close();
  });

  it("ROLLOUT: takes the safer-rollout keys on create, shows them beside the reference's, pauses and resumes", async () => {
    const base = "/api/orchestration/sw-patch/strategy";
    const bad = await request(rest.port, "POST", base, { ...CREATE, on_failure: "retry" });
    expect(bad.status).to.equal(400);
    expect(bad.body.faultstring).to.match(/^on_failure: must be pause, abort or rollback/);
    const created = await request(rest.port, "POST", base, {
      ...CREATE,
      max_failures: "50%",
      canary_hosts: ["compute-1"],
      soak_seconds: 60,
      health_gate: "both",
      on_failure: "pause",
    });
    expect(created.status).to.equal(200);
    expect(created.body.strategy).to.include({
      "worker-apply-type": "parallel",
      max_failures: "50%",
      soak_seconds: 60,
      health_gate: "both",
      on_failure: "pause",
      paused: false,
      stop_reason: "",
    });
    expect(created.body.strategy.rollback_phase).to.include({ "phase-name": "rollback", "total-stages": 0 });
    await orch.idle();
    const built = (await request(rest.port, "GET", base)).body.strategy;
    expect(built).to.include({ state: "ready-to-apply", failure_budget: 3, hosts_total: 6, canary_stages: 1 });
    expect(built["apply-phase"].stages[0].steps.map((x: { "step-name": string }) => x["step-name"])).to.deep.equal([
      "query-alarms",
      "sw-patch-hosts",
      "system-stabilize",
      "soak",
    ]);
    const notApplying = await request(rest.port, "POST", `${base}/actions`, { action: "pause" });
    expect(notApplying.status).to.equal(500);
    expect(notApplying.body.faultstring).to.equal("pause not allowed while ready-to-apply");
    cluster.gates.set("compute-1", gate.promise);
    cluster.installStarted.set("compute-1", () => started.resolve());
    expect((await request(rest.port, "POST", `${base}/actions`, { action: "apply-all" })).status).to.equal(202);
    await started.promise;
    const pausing = await request(rest.port, "POST", `${base}/actions`, { action: "pause" });
    expect(pausing.status).to.equal(202);
    expect(pausing.body.strategy).to.include({ state: "applying", paused: true });
    gate.resolve();
    await orch.idle();
    expect((await request(rest.port, "GET", base)).body.strategy.state).to.equal("paused");
    const resumed = await request(rest.port, "POST", `${base}/actions`, { action: "resume" });
    expect(resumed.status).to.equal(202);
    await orch.idle();
    expect((await request(rest.port, "GET", base)).body.strategy).to.include({ state: "applied", paused: false, executed: 6, failures: 0 });
  });

  for (const type of ["sw-patch", "sw-update"]) {
    it(`serves the strategy lifecycle under /api/orchestration/${type}/strategy`, async () => {
      const base = `/api/orchestration/${type}/strategy`;
      expect(await request(rest.port, "GET", base)).to.deep.include({ status: 200, body: { strategy: null } });
      const created = await request(rest.port, "POST", base, CREATE, { "X-Auth-Token": "admin" });
      expect(created.status).to.equal(200);
      const s = created.body.strategy;
      expect(s).to.include({
        name: "sw-patch",
        state: "building",
        "current-phase": "build",
        "worker-apply-type": "parallel",
        "max-parallel-worker-hosts": 2,
        "swift-apply-type": "ignore",
      });
      expect(s["build-phase"]).to.include({ "phase-name": "build", timeout: 182, "total-stages": 1, "stop-at-stage": 1, inprogress: true });
      expect(s["build-phase"]["start-date-time"]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(s["build-phase"].stages[0].steps[0]).to.have.keys([
        "step-id",
        "step-name",
        "timeout",
        "entity-type",
        "entity-names",
        "entity-uuids",
        "result",
        "reason",
        "start-date-time",
        "end-date-time",
      ]);
      expect(s["apply-phase"]).to.include({ result: "initial", timeout: 0, "completion-percentage": 100, "stop-at-stage": 0 });
      expect(tokens).to.include("admin");

      const dup = await request(rest.port, "POST", base, CREATE);
      expect(dup.status).to.equal(409);
      expect(dup.body.faultstring).to.equal("strategy already exists of type:sw-patch");
      await orch.idle();

      const byUuid = await request(rest.port, "GET", `${base}/${s.uuid}`);
      expect(byUuid.status).to.equal(200);
      expect(byUuid.body.strategy.state).to.equal("ready-to-apply");
      expect((await request(rest.port, "GET", `${base}/not-a-uuid`)).status).to.equal(400);
      expect((await request(rest.port, "GET", `${base}/00000000-0000-4000-8000-000000000000`)).status).to.equal(404);

      expect(await request(rest.port, "POST", `${base}/actions`, { action: "apply-stage" })).to.deep.include({ status: 400 });
      expect((await request(rest.port, "POST", `${base}/actions`, { action: "apply-stage" })).body.faultstring).to.equal("No stage-id received");
      const rejected = await request(rest.port, "POST", `${base}/actions`, { action: "apply-stage", "stage-id": "3" });
      expect(rejected.status).to.equal(500);
      const applied = await request(rest.port, "POST", `${base}/actions`, { action: "apply-stage", "stage-id": "0" });
      expect(applied.status).to.equal(202);
      expect(applied.body.strategy.state).to.equal("applying");
      expect(applied.body.strategy["apply-phase"]["stop-at-stage"]).to.equal(1);
      await orch.idle();
      const all = await request(rest.port, "POST", `${base}/actions`, { action: "apply-all" });
      expect(all.status).to.equal(202);
      await orch.idle();
      expect((await request(rest.port, "GET", "/api/orchestration/current-strategy/strategy")).body).to.deep.equal({ strategy: { name: "sw-patch", state: "applied" } });
      expect((await request(rest.port, "POST", `${base}/actions`, { action: "abort-stage", "stage-id": null })).status).to.equal(500);

      const del = await request(rest.port, "DELETE", base, { force: false });
      expect(del.status).to.equal(204);
      expect(del.raw).to.equal("");
      expect((await request(rest.port, "DELETE", base)).status).to.equal(404);
      expect((await request(rest.port, "POST", `${base}/actions`, { action: "apply-all" })).status).to.equal(404);
    });
  }

  it("refuses a delete while applying (409) and validates the create body (400)", async () => {
    const base = "/api/orchestration/sw-patch/strategy";
    const missing = await request(rest.port, "POST", base, { "controller-apply-type": "serial" });
    expect(missing.status).to.equal(400);
    expect(missing.body.faultcode).to.equal("Client");
    const bad = await request(rest.port, "POST", base, { ...CREATE, "max-parallel-worker-hosts": 101 });
    expect(bad.body.faultstring).to.equal("Invalid value for max-parallel-worker-hosts");
    expect((await request(rest.port, "POST", base, { ...CREATE, "worker-apply-type": "sideways" })).status).to.equal(400);
    expect((await request(rest.port, "POST", base, "{not json")).status).to.equal(400);
    expect((await request(rest.port, "POST", base, "x".repeat(5000))).status).to.equal(413);
    expect((await request(rest.port, "POST", base, CREATE)).status).to.equal(200);
    await orch.idle();
    cluster.gates.set("controller-1", gate.promise);
    cluster.installStarted.set("controller-1", started.resolve);
    expect((await request(rest.port, "POST", `${base}/actions`, { action: "apply-all" })).status).to.equal(202);
    await started.promise;
    const refused = await request(rest.port, "DELETE", base);
    expect(refused.status).to.equal(409);
    // The reference answers with webob's conflict text; our reason rides in debuginfo.
    expect(refused.body.faultstring).to.equal("There was a conflict when trying to complete your request.");
    expect(refused.body.debuginfo).to.equal("strategy delete not allowed while applying");
    expect((await request(rest.port, "DELETE", base, { force: true })).status).to.equal(204);
    gate.resolve();
  });

  it("passes X-Auth-Token to the one authenticate and answers 403 when the role is short", async () => {
    const base = "/api/orchestration/sw-patch/strategy";
    expect((await request(rest.port, "GET", base, undefined, { "X-Auth-Token": "reader" })).status).to.equal(200);
    const denied = await request(rest.port, "POST", base, CREATE, { "X-Auth-Token": "reader" });
    expect(denied.status).to.equal(403);
    expect(denied.body.faultstring).to.equal("Authorization failed");
  });

  it("authorises before reading a body: a denied caller is answered 403 and the connection closed, the body never read", async () => {
    const net = await import("node:net");
    for (const [method, path] of [
      ["POST", "/api/orchestration/sw-patch/strategy"],
      ["POST", "/api/orchestration/sw-patch/strategy/actions"],
      ["DELETE", "/api/orchestration/sw-patch/strategy"],
    ]) {
      const before = tokens.length;
      // Headers announce a body far over the limit and far over what is sent: only a refusal that
      // does not wait for (or parse) the body answers at all; over 1 MiB declared, it closes the connection.
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(rest.port, "127.0.0.1", () => {
          s.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: reader\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{"not json`);
        });
        const got: Buffer[] = [];
        s.on("data", (d: Buffer) => got.push(d));
        s.on("error", reject);
        s.on("close", () => resolve(Buffer.concat(got).toString("latin1")));
      });
      expect(answer, `${method} ${path}`).to.match(/^HTTP\/1\.1 403 /);
      expect(answer.toLowerCase()).to.include("connection: close");
      expect(answer).to.include('"faultstring":"Authorization failed"');
      expect(tokens.length).to.equal(before + 1);
    }
  });

  it("a refused request with a small body: answered at once, the body drained, the connection kept for the next request", async () => {
    const net = await import("node:net");
    const body = JSON.stringify(CREATE);
    const req = `POST /api/orchestration/sw-patch/strategy HTTP/1.1\r\nHost: x\r\nX-Auth-Token: reader\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answers = await new Promise<string>((resolve, reject) => {
      const s = net.connect(rest.port, "127.0.0.1", () => s.write(req + req));
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if ((got.match(/HTTP\/1\.1 403 /g) ?? []).length === 2 && got.endsWith("}")) s.end();
      });
      s.on("error", reject);
      s.on("close", () => resolve(got));
    });
    expect(answers.match(/HTTP\/1\.1 403 /g)).to.have.length(2);
    expect(answers.toLowerCase()).to.not.include("connection: close");
  });

  it("lists links and 404s unknown paths", async () => {
    const r = await request(rest.port, "GET", "/api/orchestration/sw-patch");
    expect(r.body.id).to.equal("sw-patch");
    expect(r.body.links.map((l: { rel: string }) => l.rel)).to.deep.equal(["self", "strategy"]);
    expect((await request(rest.port, "GET", "/api/orchestration/kube-upgrade/strategy")).status).to.equal(404);
  });
});
