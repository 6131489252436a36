import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { startChaosCluster, type ChaosCluster } from "../lib/chaos-cluster.js";
import { uploadStream } from "../lib/grpc-clients.js";
import { devKeyPem } from "../lib/patch-fixtures.js";
import { buildPatch } from "../../server/domain/patchfile/index.js";
import { AgentState, InstallPhase, PatchCurrent } from "../../clients/sdk/src/gen/swpatch/v1/types.js";
import type { Strategy } from "../../clients/sdk/src/gen/swpatch/v1/orchestration_service.js";
import { rpmQ } from "../lib/rpm-query.js";

/**
 * Agent faults the existing host-faults/orchestration tests do not cover: the agent's network
 * connection cut (a TCP proxy between compute-0's agent and the controller) in the middle of an
 * install, and a patch strategy hitting an agent fault (kill -9, network cut) or a failing rpm
 * scriptlet on a worker: the strategy aborts as the reference does (apply-failed, then aborted
 * with the reason), and a retry converges.
 */
describe("chaos: agent faults (network cut, strategy abort on agent fault)", function () {
  this.timeout(900_000);
  let c: ChaosCluster;
  let work: string;
  const files: Record<string, string> = {};
  let release = 2;

  /** An in-service patch updating pkg-b to 1.0-<n> whose %post sleeps (so an install can be interrupted). */
  const slowPatch = async (id: string, opts: { fail?: boolean } = {}) => {
    const rpm = await buildPayloadRpm({
      // A failing package new to the hosts and listed for workers only reaches just the workers
      // (an upgrade of an installed package goes to every host, as in the reference).
      name: opts.fail ? "pkg-w" : "pkg-b",
      version: "1.0",
      release: String(release++),
      scripts: opts.fail ? { pre: "echo scriptlet refuses >&2; exit 9" } : { post: "sleep 4" },
    });
    const rpms = opts.fail ? [{ path: rpm.file, personalities: ["worker"] }] : [rpm.file];
    const built = await buildPatch({ id, swVersion: "19.09", status: "REL", rebootRequired: false, rpms, signingKey: devKeyPem(), outputDir: work });
    files[id] = built.path;
    await c.clients.patches.uploadPatch(uploadStream(built.path));
  };
  const apply = (id: string) => c.clients.patches.applyPatches({ patchIds: [id], all: false, skipSemantic: false });
  const remove = (id: string) => c.clients.patches.removePatches({ patchIds: [id], skipSemantic: false, skipAppCheck: false, removeUnremovable: false });
  const host = async (name: string) => (await c.clients.hosts.getHost({ host: name })).host!;
  const waitOp = async (operationId: string) => {
    let last;
    for await (const r of c.clients.hosts.watchOperation({ operationId })) last = r.progress!;
    return last!;
  };
  const waitInstalling = async (operationId: string) => {
    for await (const r of c.clients.hosts.watchOperation({ operationId })) if (r.progress!.phase === InstallPhase.INSTALL_PHASE_INSTALLING) return;
  };
  const strategy = async (): Promise<Strategy> => (await c.clients.orchestration.getStrategy({})).strategy!;
  const waitState = async (want: string[], timeoutMs = 240_000): Promise<Strategy> => {
    const until = Date.now() + timeoutMs;
    let s = await strategy();
    while (!want.includes(s.state)) {
      if (Date.now() > until) throw new Error(`strategy stuck in ${s.state}: ${s.applyPhase?.reason}`);
      await new Promise((r) => setTimeout(r, 100));
      s = await strategy();
    }
    return s;
  };
  /** Installs every host that is not current, retrying a failed one, until all are current. */
  const converge = async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const hs = await c.waitHosts(
        (x) => x.every((h) => h.connected && h.agentState !== AgentState.AGENT_STATE_INSTALLING && h.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING),
        60_000,
      );
      const todo = hs.filter((h) => h.patchCurrent !== PatchCurrent.PATCH_CURRENT_YES);
      if (!todo.length) return attempt;
      for (const h of todo) await waitOp((await c.clients.hosts.installHostAsync({ host: h.hostname, force: false })).operationId);
    }
    throw new Error("did not converge");
  };
  const workerStepRunning = (s: Strategy) =>
    s.applyPhase?.stages.some((st) => st.steps.some((x) => x.name === "sw-patch-hosts" && x.entityNames.includes("compute-0") && x.result === "wait"));

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-agentfaults-"));
    const feed = await buildBaseFeed();
    c = await startChaosCluster({
      hosts: [
        { hostname: "controller-0", personality: "controller" },
        { hostname: "controller-1", personality: "controller" },
        { hostname: "compute-0", personality: "worker" },
      ],
      baseFeed: feed.dir,
      controller: { extraArgs: ["--time-scale", "0.01"] },
      proxied: ["compute-0"],
    });
  });
  after(async () => {
    await c?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a network cut mid-install: the operation ends failed with the reason, the agent reconnects, a retry converges", async () => {
    await slowPatch("NET_1");
    await apply("NET_1");
    await c.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    const op = (await c.clients.hosts.installHostAsync({ host: "compute-0", force: false })).operationId;
    await waitInstalling(op);
    const proxy = c.proxies.get("compute-0")!;
    const before = proxy.accepted();
    expect(proxy.cut()).to.be.greaterThan(0);
    const last = await waitOp(op);
    expect(last.phase).to.equal(InstallPhase.INSTALL_PHASE_FAILED);
    expect(last.message).to.equal("agent disconnected during install");
    let h = await host("compute-0");
    expect(h.agentState === AgentState.AGENT_STATE_INSTALL_FAILED || h.agentState === AgentState.AGENT_STATE_INSTALLING).to.equal(true);
    expect(h.installReason).to.not.equal("");
    // The agent reconnects on its own through the (still listening) proxy.
    await c.waitHosts((hs) => !!hs.find((x) => x.hostname === "compute-0" && x.connected), 30_000);
    expect(proxy.accepted()).to.be.greaterThan(before);
    h = await host("compute-0");
    console.log(`      after the reconnect: agent state ${AgentState[h.agentState]}, current ${PatchCurrent[h.patchCurrent]}, reason "${h.installReason}"`);
    const retries = await converge();
    expect((await host("compute-0")).patchCurrent).to.equal(PatchCurrent.PATCH_CURRENT_YES);
    expect(rpmQ(c.agents.get("compute-0")!.root, "pkg-b")).to.equal(`pkg-b-1.0-${release - 1}.noarch`);
    console.log(`      converged after ${retries} retry pass(es)`);
  });

  it("a black-holed link (no reset) mid-install: the controller notices, fails the operation, and the host recovers", async function () {
    await remove("NET_1");
    await c.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    await converge();
    await slowPatch("NET_2");
    await apply("NET_2");
    await c.waitHosts((hs) => hs.every((h) => h.patchCurrent === PatchCurrent.PATCH_CURRENT_NO));
    const op = (await c.clients.hosts.installHostAsync({ host: "compute-0", force: false })).operationId;
    await waitInstalling(op);
    const proxy = c.proxies.get("compute-0")!;
    proxy.blackhole(true);
    const t0 = Date.now();
    // Without a reset nothing is closed: the controller relies on keepalive/heartbeats to notice.
    const outcome = await Promise.race([waitOp(op).then((p) => p), new Promise<undefined>((r) => setTimeout(() => r(undefined), 90_000))]);
    proxy.blackhole(false);
    proxy.cut();
    const noticedMs = Date.now() - t0;
    if (!outcome) {
      console.log(`      black-holed link: the operation was still running after 90 s (no keepalive on the agent stream)`);
    } else {
      console.log(`      black-holed link: operation ended ${InstallPhase[outcome.phase]} "${outcome.message}" after ${noticedMs} ms`);
    }
    await c.waitHosts((hs) => !!hs.find((x) => x.hostname === "compute-0" && x.connected), 60_000);
    await converge();
    expect((await host("compute-0")).patchCurrent).to.equal(PatchCurrent.PATCH_CURRENT_YES);
  });

  for (const fault of ["agent kill -9", "network cut", "failing rpm scriptlet"] as const) {
    it(`a strategy hitting an agent fault on the worker (${fault}) aborts with the reason; a new strategy converges`, async () => {
      const id = `STRAT_${fault.replace(/\W+/g, "_").toUpperCase()}`;
      // Bring everything to a clean, current state with nothing pending.
      await c.waitHosts((hs) => hs.every((x) => x.connected && x.agentState !== AgentState.AGENT_STATE_INSTALLING), 60_000);
      const applied = (await c.clients.patches.queryPatches({ filter: 2, release: "" })).patches.map((p) => p.id);
      if (applied.length) await remove(applied[0]!);
      await converge();
      await slowPatch(id, { fail: fault === "failing rpm scriptlet" });
      await apply(id);
      await c.waitHosts((hs) =>
        hs.every(
          (h) => h.patchCurrent === (h.hostname === "compute-0" || fault !== "failing rpm scriptlet" ? PatchCurrent.PATCH_CURRENT_NO : PatchCurrent.PATCH_CURRENT_YES),
        ),
      );
      await c.clients.orchestration.createStrategy({});
      const built = await waitState(["ready-to-apply", "build-failed"]);
      expect(built.state, built.buildPhase?.reason).to.equal("ready-to-apply");
      await c.clients.orchestration.applyStrategy({});
      if (fault !== "failing rpm scriptlet") {
        // Wait until the worker is installing (its %post sleeps), then break it.
        const until = Date.now() + 120_000;
        while (Date.now() < until) {
          const s = await strategy();
          if (workerStepRunning(s) && (await host("compute-0")).agentState === AgentState.AGENT_STATE_INSTALLING) break;
          if (["applied", "aborted", "apply-failed"].includes(s.state)) throw new Error(`strategy ended ${s.state} before the fault`);
          await new Promise((r) => setTimeout(r, 50));
        }
        if (fault === "agent kill -9") await c.agents.get("compute-0")!.kill9();
        else c.proxies.get("compute-0")!.cut();
      }
      const s = await waitState(["aborted", "applied", "abort-failed", "abort-timeout"]);
      const failed = s.applyPhase!.stages.flatMap((st) =>
        st.steps.filter((x) => x.result === "failed").map((x) => `${st.name}/${x.name}(${x.entityNames.join(",")}): ${x.reason}`),
      );
      console.log(`      ${fault}: strategy ${s.state}, apply result ${s.applyPhase!.result}, reason "${s.applyPhase!.reason}"; failed steps: ${failed.join("; ")}`);
      expect(s.state).to.equal("aborted");
      expect(s.applyPhase!.result).to.equal("failed");
      expect(failed.some((f) => f.includes("sw-patch-hosts(compute-0)"))).to.equal(true);
      expect(s.applyPhase!.reason).to.match(/compute-0|install|failed/i);
      await c.clients.orchestration.deleteStrategy({ force: false });
      const h = await host("compute-0");
      // After a cut the agent reconnects at once and may still be running rpm (then it reports installing).
      if (fault === "network cut") expect([AgentState.AGENT_STATE_INSTALL_FAILED, AgentState.AGENT_STATE_INSTALLING]).to.include(h.agentState);
      if (fault === "failing rpm scriptlet") expect(h.agentState).to.equal(AgentState.AGENT_STATE_INSTALL_FAILED);
      if (fault === "failing rpm scriptlet") expect(h.installReason).to.match(/scriptlet failed, exit status 9/);
      // Retry: repair (restart the agent / remove the bad patch), then a new strategy converges.
      if (fault === "agent kill -9") await c.restartAgent("compute-0");
      if (fault === "failing rpm scriptlet") await remove(id);
      await c.waitHosts(
        (hs) => hs.every((x) => x.connected && x.agentState !== AgentState.AGENT_STATE_INSTALLING && x.patchCurrent !== PatchCurrent.PATCH_CURRENT_PENDING),
        60_000,
      );
      if ((await c.clients.hosts.listHosts({})).hosts.some((x) => x.patchCurrent !== PatchCurrent.PATCH_CURRENT_YES)) {
        await c.clients.orchestration.createStrategy({});
        const b2 = await waitState(["ready-to-apply", "build-failed"]);
        expect(b2.state, b2.buildPhase?.reason).to.equal("ready-to-apply");
        await c.clients.orchestration.applyStrategy({});
        const done = await waitState(["applied", "aborted"]);
        expect(done.state, done.applyPhase?.reason).to.equal("applied");
        await c.clients.orchestration.deleteStrategy({ force: false });
      }
      const hs = (await c.clients.hosts.listHosts({})).hosts;
      expect(hs.every((x) => x.patchCurrent === PatchCurrent.PATCH_CURRENT_YES && x.connected)).to.equal(true);
    });
  }
});
