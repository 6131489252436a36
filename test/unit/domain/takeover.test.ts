/**
 * Takeover through fakes (issue 19): two controllers' domains over one store take turns being active. Each part
 * drops its memory and stops its timers when deactivated (writing nothing) and re-reads the store when activated
 * again, including what the other controller changed and removed; the work the other one left running (an install
 * operation, a strategy step) is resumed by the next active.
 */
import { expect } from "chai";
import type { AgentCommand, AgentHelloInput, AgentLink, InstalledPackage } from "../../../server/domain/hosts/agent-types.js";
import { HostManager } from "../../../server/domain/hosts/host-manager.js";
import { EventLog } from "../../../server/domain/events/event-log.js";
import { PatchManager } from "../../../server/domain/patches/patch-manager.js";
import { Orchestrator } from "../../../server/domain/orchestration/orchestrator.js";
import type { TrustStore } from "../../../server/domain/patchfile/index.js";
import { createLogger } from "../../../server/lib/log.js";
import { FakeStore, fakeBlobs } from "../../lib/fake-store.js";
import { createMemoryStrategyPersistence } from "../../lib/memory-strategy-persistence.js";
import { record } from "./patches/fixtures.js";
import { FakeCluster, defer } from "../orchestration/fake-cluster.js";
import { standard222 } from "../orchestration/fixtures.js";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const PKG = (name: string, release = "1"): InstalledPackage => ({ name, epoch: "", version: "1.0", release, arch: "noarch" });
const log = createLogger({ level: "silent" });

function link(): AgentLink & { sent: AgentCommand[] } {
  const l = { sent: [] as AgentCommand[], send: (c: AgentCommand) => void l.sent.push(c), close: () => undefined };
  return l;
}

function hello(hostname: string, state: AgentHelloInput["state"], packages: InstalledPackage[]): AgentHelloInput {
  return {
    hostname,
    personality: "worker",
    subfunctions: [],
    release: "19.09",
    mgmtIp: "",
    packages,
    requiresReboot: false,
    state,
    installReason: "",
    instances: [],
    interruptedOperationId: "",
    provision: false,
    installRequest: false,
  };
}

/** One controller's domain over the shared store, with the activate/deactivate the controller runs per term. */
function member(store: FakeStore, active: () => string | undefined, installResumeGraceMs = 60_000) {
  const events = new EventLog(store.read);
  const pm = new PatchManager({
    store,
    blobs: fakeBlobs(),
    events,
    log,
    tmpDir: mkdtempSync(path.join(os.tmpdir(), "swpatch-takeover-")),
    runningRelease: "19.09",
    trust: () => ({ keys: [] }) as TrustStore,
  });
  const hm = new HostManager({ store, events, patches: pm, log, controllerRelease: "19.09", installResumeGraceMs, activeController: active });
  return {
    events,
    pm,
    hm,
    async activate() {
      await events.init();
      await pm.init();
      await hm.init();
    },
    async deactivate() {
      hm.deactivate();
      pm.deactivate();
      await events.deactivate();
    },
  };
}

describe("takeover: domains re-read on every term (fake ports)", () => {
  it("A, B, A again: each sees what the other changed and removed; an install A started ends on B; no write after deactivate", async () => {
    const store = new FakeStore();
    store.t.releases.add("19.09");
    const sysinv2 = { fileName: "sysinv-1.0-2.noarch.rpm", ...PKG("sysinv", "2"), sha256: "aa", size: 1 };
    store.t.patches.set("P1", record("P1", "Available", { personalities: { worker: ["sysinv"] }, contents: [sysinv2.fileName] }, { packages: [sysinv2] }));
    store.t.patches.set("P2", record("P2", "Available"));
    store.t.base.set("19.09", [{ fileName: "sysinv-1.0-1.noarch.rpm", ...PKG("sysinv"), sha256: "bb", size: 1 }]);
    let holder = "controller-0";
    const a = member(store, () => holder);
    const b = member(store, () => holder);

    // Term 1, A: a host connects, P1 is applied, an install starts (the agent runs it on its own).
    await a.activate();
    await a.hm.hello(hello("w0", "idle", [PKG("sysinv")]), link(), "10.0.0.1");
    await a.pm.apply(["P1"]);
    const { operationId } = await a.hm.install("w0", true);
    expect(a.hm.runningOperation("w0")).to.equal(operationId);
    const seqAfterA = a.events.lastSequence;
    await a.deactivate();
    const commits = store.commits;
    expect([a.pm.all().length, a.hm.count(), a.hm.ops.inMemory]).to.deep.equal([0, 0, 0]);
    await new Promise((r) => setTimeout(r, 30)); // past the 25 ms of a riding write: none comes
    expect(store.commits, "A writes nothing once deactivated").to.equal(commits);

    // Term 2, B: the operation A started is running here; the agent reconnects and reports its end to B.
    holder = "controller-1";
    await b.activate();
    expect(b.events.lastSequence).to.equal(seqAfterA);
    expect(b.hm.runningOperation("w0")).to.equal(operationId);
    await b.hm.hello(hello("w0", "installing", [PKG("sysinv")]), link(), "10.0.0.1");
    await b.hm.report("w0", { packages: [PKG("sysinv", "2")], requiresReboot: false, state: "idle", installReason: "", instances: [] });
    await b.hm.installResult("w0", { operationId, success: true, rejected: false, reason: "" });
    expect(store.t.ops.get(operationId)!.state).to.equal("done");
    expect(b.hm.get("w0").patchCurrent).to.equal("Yes");
    await b.pm.delete(["P2"]);
    const seqAfterB = b.events.lastSequence;
    await b.deactivate();

    // Term 3, A again: B's end of the operation, its host report and its deletion are what A shows now.
    holder = "controller-0";
    await a.activate();
    expect(a.events.lastSequence).to.equal(seqAfterB);
    expect(a.pm.get("P2"), "removed by B").to.equal(undefined);
    expect(a.pm.get("P1")!.patchState).to.equal("Applied");
    expect(a.hm.runningOperation("w0")).to.equal(undefined);
    expect(await a.hm.operation(operationId)).to.include({ phase: "done", terminal: true });
    expect(a.hm.get("w0")).to.include({ patchCurrent: "Yes" });
    // The next event continues the sequence B left.
    await a.pm.remove(["P1"]);
    expect(store.t.events.at(-1)!.seq).to.be.greaterThan(seqAfterB);
    expect(store.t.events.map((e) => e.seq)).to.deep.equal(store.t.events.map((_, i) => i + 1));
    a.hm.close();
  });

  it("a deactivated member's install watchdog is gone: the operation the old term left is not failed by it", async () => {
    const store = new FakeStore();
    store.t.releases.add("19.09");
    const a = member(store, () => "controller-0");
    await a.activate();
    await a.hm.hello(hello("w0", "idle", [PKG("sysinv")]), link(), "10.0.0.1");
    const { operationId } = await a.hm.install("w0", true);
    await a.deactivate();
    // A member that becomes active starts a resume watchdog (20 ms here) for the running operation; it loses its
    // term at once: the watchdog must not end the operation (the next active resumes it).
    const b = member(store, () => "controller-1", 20);
    await b.activate();
    expect(b.hm.runningOperation("w0")).to.equal(operationId);
    await b.deactivate();
    const before = store.commits;
    await new Promise((r) => setTimeout(r, 60)); // three times the grace: a live watchdog would have written by now
    expect(store.commits).to.equal(before);
    expect(store.t.ops.get(operationId)!.state).to.equal("running");
    expect(b.hm.ops.inMemory).to.equal(0);
  });

  it("host status names the controller holding the lease now, not the one stored by the last swact", async () => {
    const store = new FakeStore();
    store.t.releases.add("19.09");
    let holder: string | undefined = "controller-1";
    const a = member(store, () => holder);
    await a.activate();
    await a.hm.hello({ ...hello("controller-0", "idle", []), personality: "controller" }, link(), "10.0.0.2");
    await a.hm.hello({ ...hello("controller-1", "idle", []), personality: "controller" }, link(), "10.0.0.3");
    expect(a.hm.list().map((h) => [h.hostname, h.activeController])).to.deep.equal([
      ["controller-0", false],
      ["controller-1", true],
    ]);
    holder = undefined;
    expect(a.hm.list().some((h) => h.activeController)).to.equal(false);
    a.hm.close();
  });

  it("orchestration: A's runner stops at deactivate (no save after it); B continues the persisted step to applied; A re-reads it", async () => {
    const cluster = new FakeCluster(standard222({ requiresReboot: true }));
    const persistence = createMemoryStrategyPersistence();
    const saves: string[] = [];
    const mk = (who: string) =>
      new Orchestrator({
        port: cluster,
        persistence: { load: () => persistence.load(), save: (s, events) => (saves.push(who), persistence.save(s, events)) },
        timeScale: 0.0002,
        auditIntervalS: 1,
      });
    const a = mk("A");
    const b = mk("B");
    const started = defer();
    const gate = defer();
    cluster.gates.set("storage-0", gate.promise);
    cluster.installStarted.set("storage-0", started.resolve);
    await a.init();
    await a.create();
    await a.idle();
    await a.apply();
    await started.promise;
    await a.deactivate();
    expect(a.current()).to.equal(undefined);
    const savedByA = saves.length;
    cluster.gates.delete("storage-0");
    cluster.installStarted.delete("storage-0");
    await b.init();
    await b.idle();
    expect(b.get().state).to.equal("applied");
    expect(
      saves.slice(savedByA).every((w) => w === "B"),
      "no save by A after its deactivate",
    ).to.equal(true);
    expect(cluster.actions.filter((x) => x === "install storage-0")).to.have.length(2);
    await b.deactivate();
    await a.init();
    expect(a.get().state).to.equal("applied");
    await a.close();
    await b.close();
  });
});
