import { expect } from "chai";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Metadata, Status } from "nice-grpc";
import { spawnSync } from "node:child_process";
import { REPO_ROOT, startController, type ControllerHandle } from "../lib/controller-harness.js";
import { rawClients } from "../lib/grpc-clients.js";
import { type PostgresServer, startPostgresOrSkip } from "../lib/postgres.js";
import { runCli } from "../lib/cli.js";
import { buildTestPatch } from "../lib/patch-fixtures.js";
import { startAgent, type AgentHandle } from "../lib/cluster-harness.js";
import { createSwPatchClient, type SwPatchClient } from "../../clients/sdk/src/index.js";

/**
 * Two real controllers sharing a PostgreSQL lease (`--controller-id`, `--lease`): one active, the standby
 * answering UNAVAILABLE naming it, GetControllerInfo on both, swact, and takeover after a kill -9.
 * (Until the PostgreSQL store lands each keeps its own sqlite store: both start from a copy of one data dir, so
 * one admin token works on both.)
 */
describe("controller pair: lease, standby answer, swact, takeover", function () {
  this.timeout(90_000);
  let pg: PostgresServer | undefined;
  let seed: string | undefined;
  const controllers: ControllerHandle[] = [];
  const closers: Array<() => void> = [];
  let c0: ControllerHandle;
  let c1: ControllerHandle;
  /** An SDK client given both endpoints, the standby's first. */
  let sdk: SwPatchClient;

  const info = async (c: ControllerHandle) => {
    const cl = rawClients(c);
    closers.push(cl.close);
    return cl.patches.getControllerInfo({});
  };
  /** Polls GetControllerInfo (a state, not a duration) until `c` has `role`. */
  const untilRole = async (c: ControllerHandle, role: string) => {
    for (;;) {
      const i = await info(c);
      if (i.role === role) return i;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const start = (id: string, dataDir: string) =>
    startController({ dataDir, extraArgs: ["--controller-id", id, "--lease", url, "--lease-ttl", "1200"] }).then((c) => (controllers.push(c), c));
  let url = "";
  let agent: AgentHandle | undefined;
  /** Polls ListHosts (a state, not a duration) until `c` has compute-0 connected. */
  const untilConnected = async (c: ControllerHandle) => {
    const cl = rawClients(c);
    closers.push(cl.close);
    for (;;) {
      const { hosts } = await cl.hosts.listHosts({});
      if (hosts.some((h) => h.hostname === "compute-0" && h.connected)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let patchFile = "";

  before(async function () {
    pg = await startPostgresOrSkip(this);
    url = await pg.createDatabase();
    seed = mkdtempSync(path.join(os.tmpdir(), "swpatch-pair-"));
    patchFile = (await buildTestPatch({ dir: path.join(seed, "patch"), id: "PAIR_0001", swVersion: "19.09" })).path;
    const first = await startController({ dataDir: path.join(seed, "seed"), keepDataDir: true });
    await first.stop();
    cpSync(path.join(seed, "seed"), path.join(seed, "c0"), { recursive: true });
    cpSync(path.join(seed, "seed"), path.join(seed, "c1"), { recursive: true });
    c0 = await start("controller-0", path.join(seed, "c0"));
    await untilRole(c0, "active");
    c1 = await start("controller-1", path.join(seed, "c1"));
    sdk = createSwPatchClient({ endpoint: `${c1.endpoint},${c0.endpoint}`, token: c0.adminToken });
  });
  after(async () => {
    sdk?.close();
    await agent?.stop();
    for (const close of closers) close();
    for (const c of controllers) await c.stop();
    if (seed) rmSync(seed, { recursive: true, force: true });
    await pg?.stop();
  });

  it("GetControllerInfo answers on both: role, epoch, ids and the active controller's address", async () => {
    const a = await info(c0);
    const s = await info(c1);
    expect(a).to.deep.include({
      role: "active",
      controllerId: "controller-0",
      advertiseAddress: c0.endpoint,
      activeControllerId: "controller-0",
      activeAddress: c0.endpoint,
    });
    expect(a.epoch).to.be.greaterThan(0);
    expect(s).to.deep.include({ role: "standby", controllerId: "controller-1", epoch: a.epoch, activeControllerId: "controller-0", activeAddress: c0.endpoint });
  });

  it("the standby answers every other RPC UNAVAILABLE naming the active controller (message and swpatch-active trailer)", async () => {
    const cl = rawClients(c1);
    closers.push(cl.close);
    let trailer: Metadata | undefined;
    const err = await cl.patches.queryPatches({}, { onTrailer: (t) => (trailer = t) }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ClientError);
    expect((err as ClientError).code).to.equal(Status.UNAVAILABLE);
    expect((err as ClientError).details).to.equal(`standby: the active controller is controller-0 at ${c0.endpoint}`);
    expect(trailer?.get("swpatch-active")).to.equal(`controller-0@${c0.endpoint}`);
    expect(trailer?.get("swpatch-error-reason")).to.equal("STANDBY");
    const hosts = await cl.hosts.listHosts({}).catch((e: unknown) => e);
    expect((hosts as ClientError).code).to.equal(Status.UNAVAILABLE);
    // The active one serves.
    const ok = rawClients(c0);
    closers.push(ok.close);
    expect((await ok.patches.queryPatches({})).patches).to.be.an("array");
  });

  it("clients given both endpoints follow the active one: the SDK (standby listed first), the CLI (SWPATCH_ENDPOINT=a,b), the agent (--controller a,b)", async () => {
    expect((await sdk.patches.getControllerInfo({})).controllerId).to.equal("controller-1"); // answers on both
    expect((await sdk.patches.queryPatches({})).patches).to.be.an("array");
    expect(sdk.endpoint).to.equal(c0.endpoint);
    const cli = await runCli("sw-patch", ["query"], { endpoint: `${c1.endpoint},${c0.endpoint}`, token: c0.adminToken });
    expect(cli.stderr).to.equal("");
    expect(cli.rc).to.equal(0);
    expect(cli.stdout).to.match(/Patch ID/);
    // The Python SDK (SWPATCH_ENDPOINT=standby,active), when Debian's python3 has grpc.
    const py = spawnSync("/usr/bin/python3", ["-c", "import swpatch_client as s\nc = s.SwPatchClient()\nprint(len(c.query()), c.endpoint)\nc.close()"], {
      encoding: "utf8",
      env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, "clients/python"), SWPATCH_ENDPOINT: `${c1.endpoint},${c0.endpoint}`, SWPATCH_TOKEN: c0.adminToken },
    });
    if (!/No module named 'grpc'|ENOENT/.test(`${py.stderr}${py.error?.message ?? ""}`)) expect(py.stdout.trim(), py.stderr).to.equal(`0 ${c0.endpoint}`);
    // The agent (--controller standby,active) ends up connected to the active one.
    agent = startAgent(`${c1.endpoint},${c0.endpoint}`, { hostname: "compute-0", personality: "worker" }, path.join(seed!, "roots"), c0.adminToken);
    await untilConnected(c0);
  });

  it("host-swact controller-0 hands over: controller-1 is active, controller-0's open watcher ends, the SDK's watcher and the agent move over", async () => {
    const a = rawClients(c0);
    closers.push(a.close);
    const before = await info(c0);
    // A watcher of the SDK: ended by the swact, it carries on with the new active controller.
    const ac = new AbortController();
    closers.push(() => ac.abort());
    const sdkSawPatch = (async () => {
      for await (const e of sdk.watchEvents({ signal: ac.signal, initialBackoffMs: 50 })) if (e.patchId === "PAIR_0001") return e;
      return undefined;
    })();
    const watch = (async () => {
      try {
        for await (const _ of a.patches.watchEvents({ afterSequence: 0 })) void _;
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    const wrong = await a.hosts.swactHost({ host: "controller-1" }).catch((e: unknown) => e);
    expect((wrong as ClientError).code).to.equal(Status.FAILED_PRECONDITION);
    const r = await a.hosts.swactHost({ host: "controller-0" });
    expect(r.activeController).to.equal("controller-1");
    const ended = (await watch) as ClientError;
    expect(ended.code).to.equal(Status.UNAVAILABLE);
    expect(ended.details).to.match(/^standby: /);
    const now1 = await info(c1);
    expect(now1).to.deep.include({ role: "active", activeControllerId: "controller-1" });
    expect(now1.epoch).to.be.greaterThan(before.epoch);
    expect(await info(c0)).to.deep.include({ role: "standby", activeControllerId: "controller-1", activeAddress: c1.endpoint, epoch: now1.epoch });
    expect((await sdk.patches.queryPatches({})).patches).to.be.an("array");
    expect(sdk.endpoint).to.equal(c1.endpoint);
    await untilConnected(c1);
    // A change on the new active controller reaches the watcher.
    await sdk.uploadPatchFile(patchFile);
    expect(await sdkSawPatch).to.have.property("patchId", "PAIR_0001");
    ac.abort();
  });

  it("system host-swact through both endpoints hands back over (the CLI follows the active one)", async () => {
    const r = await runCli("system", ["host-swact", "controller-1"], { endpoint: `${c0.endpoint},${c1.endpoint}`, token: c0.adminToken });
    expect([r.rc, r.stderr, r.stdout]).to.deep.equal([0, "", "Activity moved from controller-1 to controller-0\n"]);
    expect(await info(c0)).to.deep.include({ role: "active", activeControllerId: "controller-0" });
    // Back to controller-1 for the next test.
    const back = await runCli("system", ["host-swact", "controller-0"], { endpoint: `${c0.endpoint},${c1.endpoint}`, token: c0.adminToken });
    expect(back.stdout).to.equal("Activity moved from controller-0 to controller-1\n");
    await untilConnected(c1);
  });

  it("after a kill -9 of the active controller the standby takes over; the SDK and the agent follow", async () => {
    const before = await info(c1);
    expect(before.role).to.equal("active");
    await c1.kill9();
    const after = await untilRole(c0, "active");
    expect(after.epoch).to.be.greaterThan(before.epoch);
    expect(after.activeControllerId).to.equal("controller-0");
    await untilConnected(c0);
    // The SDK: connection refused on controller-1, then controller-0 answers.
    expect((await sdk.patches.queryPatches({})).patches).to.be.an("array");
    expect(sdk.endpoint).to.equal(c0.endpoint);
  });
});
