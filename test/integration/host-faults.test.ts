import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClientError, Status } from "nice-grpc";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startCluster, type Cluster } from "../lib/cluster-harness.js";
import { runCli } from "../lib/cli.js";
import { rpmQ } from "../lib/rpm-query.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { AgentState, InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";

/**
 * Host faults with real agents: an agent killed mid-install, a controller killed mid-install,
 * two installs at once, a failing rpm scriptlet, drop-host; each ends in a clear state and a
 * retry converges.
 */
describe("host installs under faults (real agents, real rpm)", function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let work: string;
  const patches: Record<string, string> = {};

  const build = async (id: string, rpms: string[], extra: string[] = []) => {
    const r = await runCli("patch_build", ["--id", id, "--release", "19.09", "--reboot-required", "N", "--key", DEV_KEY, "--output-dir", work, ...extra, ...rpms]);
    expect(r.rc, r.stderr).to.equal(0);
    patches[id] = path.join(work, `${id}.patch`);
  };
  const installOp = async (host: string, force = false) => {
    const r = await cluster.clients.hosts.installHostAsync({ host, force });
    return r.operationId;
  };
  const waitOp = async (operationId: string) => {
    let last;
    for await (const r of cluster.clients.hosts.watchOperation({ operationId })) last = r.progress!;
    return last!;
  };
  const host = async (name: string) => (await cluster.clients.hosts.getHost({ host: name })).host!;

  before(async () => {
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-faults-"));
    // A slow in-service update (its %post sleeps) so an install can be interrupted.
    const slow = await buildPayloadRpm({ name: "pkg-b", version: "1.0", release: "2", scripts: { post: "sleep 6" } });
    await build("SLOW", [slow.file]);
    const bad = await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "9", scripts: { pre: "echo scriptlet says no >&2; exit 7" } });
    await build("BAD", [bad.file]);
    cluster = await startCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller" },
        { hostname: "compute-0", personality: "worker" },
      ],
      baseFeed: feed.dir,
    });
    await cluster.clients.patches.uploadPatch(uploadStream(patches.SLOW!));
    await cluster.clients.patches.applyPatches({ patchIds: ["SLOW"], all: false, skipSemantic: false });
  });

  after(async () => {
    await cluster?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("refuses a second install on a host that is installing", async () => {
    const op = await installOp("controller-0");
    try {
      await installOp("controller-0");
      expect.fail("second install accepted");
    } catch (e) {
      expect((e as ClientError).code).to.equal(Status.FAILED_PRECONDITION);
      expect((e as ClientError).details).to.equal(`Host controller-0 is already installing patches (operation ${op})`);
    }
    // apply/remove are refused while a host installs (spec 5.2).
    try {
      await cluster.clients.patches.removePatches({ patchIds: ["SLOW"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
      expect.fail("remove accepted during an install");
    } catch (e) {
      expect((e as ClientError).details).to.equal("Rejected: One or more nodes are installing patches.");
    }
    const last = await waitOp(op);
    expect(last.phase).to.equal(InstallPhase.INSTALL_PHASE_DONE);
    expect(rpmQ(cluster.agents.get("controller-0")!.root, "pkg-b")).to.equal("pkg-b-1.0-2.noarch");
  });

  it("an agent killed mid-install leaves its host install-failed with a reason; the next install recovers", async () => {
    const op = await installOp("compute-0");
    // Wait until rpm is running the slow scriptlet.
    for await (const r of cluster.clients.hosts.watchOperation({ operationId: op })) {
      if (r.progress!.phase === InstallPhase.INSTALL_PHASE_INSTALLING) break;
    }
    await cluster.agents.get("compute-0")!.kill9();
    const last = await waitOp(op);
    expect(last.phase).to.equal(InstallPhase.INSTALL_PHASE_FAILED);
    expect(last.message).to.equal("agent disconnected during install");
    let h = await host("compute-0");
    expect(h.agentState).to.equal(AgentState.AGENT_STATE_INSTALL_FAILED);
    expect(h.patchCurrent).to.equal(PatchCurrent.PATCH_CURRENT_FAILED);
    expect(h.installReason).to.equal("agent disconnected during install");
    const hosts = await runCli("sw-patch", ["query-hosts"], { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
    // Its agent is gone: the failure stays, the state says the host is offline.
    expect(hosts.stdout).to.match(/compute-0\s+\S+\s+Failed\s+No\s+19\.09\s+offline/);
    await cluster.restartAgent("compute-0");
    await cluster.waitHosts((hs) => !!hs.find((x) => x.hostname === "compute-0" && x.connected));
    h = await host("compute-0");
    expect(h.installReason).to.equal("agent restarted during install");
    const retry = await waitOp(await installOp("compute-0"));
    expect(retry.phase, retry.message).to.equal(InstallPhase.INSTALL_PHASE_DONE);
    h = await host("compute-0");
    expect(h.patchCurrent).to.equal(PatchCurrent.PATCH_CURRENT_YES);
    expect(h.agentState).to.equal(AgentState.AGENT_STATE_IDLE);
    expect(rpmQ(cluster.agents.get("compute-0")!.root, "pkg-b")).to.equal("pkg-b-1.0-2.noarch");
  });

  it("survives a controller kill -9 in the middle of an install: the agent finishes and the operation completes", async () => {
    await cluster.clients.patches.removePatches({ patchIds: ["SLOW"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
    const op = await installOp("controller-0");
    for await (const r of cluster.clients.hosts.watchOperation({ operationId: op })) {
      if (r.progress!.phase === InstallPhase.INSTALL_PHASE_INSTALLING) break;
    }
    await cluster.restartController();
    const last = await waitOp(op);
    expect(last.phase, last.message).to.equal(InstallPhase.INSTALL_PHASE_DONE);
    await cluster.waitHosts((hs) => hs.find((x) => x.hostname === "controller-0")?.patchCurrent === PatchCurrent.PATCH_CURRENT_YES && hs.every((x) => x.connected));
    expect(rpmQ(cluster.agents.get("controller-0")!.root, "pkg-b")).to.equal("pkg-b-1.0-1.noarch");
  });

  it("GetOperation answers for an install that ended before a controller restart; GetControllerInfo counts the hosts", async () => {
    const op = await installOp("compute-0", true);
    const last = await waitOp(op);
    expect(last.terminal).to.equal(true);
    await cluster.restartController();
    const r = await cluster.clients.hosts.getOperation({ operationId: op });
    expect(r.progress!.operationId).to.equal(op);
    expect(r.progress!.phase).to.equal(last.phase);
    expect(r.progress!.terminal).to.equal(true);
    expect(r.progress!.time).to.be.instanceOf(Date);
    expect(r.progress!.time!.getTime()).to.equal(last.time!.getTime());
    const info = await cluster.clients.patches.getControllerInfo({});
    expect(info.hostCount).to.equal(2);
    await cluster.waitHosts((hs) => hs.length === 2 && hs.every((x) => x.connected));
  });

  it("an rpm whose scriptlet fails ends install-failed with rpm's error; removing the patch and retrying converges", async () => {
    await waitOp(await installOp("compute-0"));
    await cluster.clients.patches.uploadPatch(uploadStream(patches.BAD!));
    await cluster.clients.patches.applyPatches({ patchIds: ["BAD"], all: false, skipSemantic: false });
    const r = await runCli("sw-patch", ["host-install", "compute-0"], { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
    expect(r.rc).to.equal(1);
    expect(r.stdout.trimEnd().endsWith("Installation failed. Please check logs for details."), r.stdout).to.equal(true);
    const h = await host("compute-0");
    expect(h.agentState).to.equal(AgentState.AGENT_STATE_INSTALL_FAILED);
    expect(h.installReason).to.match(/scriptlet failed, exit status 7/);
    await cluster.clients.patches.removePatches({ patchIds: ["BAD"], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
    const ok = await waitOp(await installOp("compute-0"));
    expect(ok.phase, ok.message).to.equal(InstallPhase.INSTALL_PHASE_DONE);
    expect((await host("compute-0")).patchCurrent).to.equal(PatchCurrent.PATCH_CURRENT_YES);
    expect(rpmQ(cluster.agents.get("compute-0")!.root, "pkg-a")).to.equal("pkg-a-1.0-1.noarch");
  });

  it("drop-host removes a host; it comes back when its agent reconnects", async () => {
    const r = await runCli("sw-patch", ["drop-host", "compute-0"], { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
    expect(r.rc, r.stderr).to.equal(0);
    const unknown = await runCli("sw-patch", ["drop-host", "nohost"], { endpoint: cluster.controller.endpoint, token: cluster.controller.adminToken });
    expect(unknown.rc).to.equal(1);
    expect(unknown.stderr).to.include("Unknown host specified: nohost");
    // The agent's stream was cut; it reconnects and the host is known again.
    await cluster.waitHosts((hs) => !!hs.find((x) => x.hostname === "compute-0" && x.connected));
  });
});
