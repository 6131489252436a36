import { expect } from "chai";
import { isDomainError } from "../../../../server/domain/errors.js";
import type { AgentCommand, AgentHelloInput, AgentLink, InstalledPackage } from "../../../../server/domain/hosts/agent-types.js";
import { HostManager } from "../../../../server/domain/hosts/host-manager.js";
import { AlarmService } from "../../../../server/domain/alarms/alarm-service.js";
import { createLogger } from "../../../../server/lib/log.js";
import { patchManager, record } from "../patches/fixtures.js";

const PKG = (name: string, release = "1"): InstalledPackage => ({ name, epoch: "", version: "1.0", release, arch: "noarch" });

function link(): AgentLink & { sent: AgentCommand[]; closed: boolean } {
  const l = { sent: [] as AgentCommand[], closed: false, send: (c: AgentCommand) => void l.sent.push(c), close: () => void (l.closed = true) };
  return l;
}

function hello(hostname: string, packages: InstalledPackage[] = [PKG("sysinv")]): AgentHelloInput {
  return {
    hostname,
    personality: "worker",
    subfunctions: [],
    release: "19.09",
    mgmtIp: "",
    packages,
    requiresReboot: false,
    state: "idle",
    installReason: "",
    instances: [],
    interruptedOperationId: "",
    provision: false,
    installRequest: false,
  };
}

async function setup() {
  const sysinv2 = { fileName: "sysinv-1.0-2.noarch.rpm", ...PKG("sysinv", "2"), sha256: "aa", size: 1 };
  const parts = await patchManager([record("P1", "Available", { personalities: { worker: ["sysinv"] }, contents: [sysinv2.fileName] }, { packages: [sysinv2] })]);
  parts.store.t.base.set("19.09", [{ fileName: "sysinv-1.0-1.noarch.rpm", ...PKG("sysinv"), sha256: "bb", size: 1 }]);
  await parts.pm.init();
  const hm = new HostManager({ store: parts.store, events: parts.events, patches: parts.pm, log: createLogger({ level: "silent" }), controllerRelease: "19.09" });
  await hm.init();
  return { ...parts, hm };
}

/** Host writes, instance actions and install operations through fakes of the ports. */
describe("host manager (fake ports)", () => {
  it("reports arriving together share a commit; hosts leave interim; a failed batch changes nothing in memory", async () => {
    const { hm, pm, store } = await setup();
    const names = ["w0", "w1", "w2", "w3", "w4", "w5"];
    for (const n of names) await hm.hello(hello(n), link(), "10.0.0.1");
    await pm.apply(["P1"]);
    for (const n of names) expect(hm.get(n).patchCurrent, n).to.equal("Pending");
    const commits = store.commits;
    await Promise.all(names.map((n) => hm.report(n, { packages: [PKG("sysinv")], requiresReboot: false, state: "idle", installReason: "", instances: [] })));
    expect(store.commits - commits).to.be.within(1, 2);
    for (const n of names) expect(hm.get(n).patchCurrent, n).to.equal("No");
    expect(pm.get("P1")!.patchState).to.equal("Partial-Apply");

    store.failNext = new Error("injected");
    const results = await Promise.allSettled(
      names.map((n) => hm.report(n, { packages: [PKG("sysinv", "2")], requiresReboot: false, state: "idle", installReason: "", instances: [] })),
    );
    expect(results.filter((r) => r.status === "rejected").length).to.be.greaterThan(0);
    for (let i = 0; i < names.length; i++) {
      // A rejected write left its host as it was; one that went through (a later batch) is adopted.
      const h = hm.get(names[i]!);
      expect(h.installed[0]!.release).to.equal(results[i]!.status === "rejected" ? "1" : "2");
      expect(store.t.hosts.get(names[i]!)!.installed[0]!.release).to.equal(h.installed[0]!.release);
    }
    await Promise.all(names.map((n) => hm.report(n, { packages: [PKG("sysinv", "2")], requiresReboot: false, state: "idle", installReason: "", instances: [] })));
    expect(pm.get("P1")!.patchState).to.equal("Applied");
    expect(hm.get("w0").patchCurrent).to.equal("Yes");
  });

  it("an instance action fails at once when its host's agent disconnects; an answered one leaves no abort listener", async () => {
    const { hm } = await setup();
    const l = link();
    await hm.hello(hello("w0"), l, "10.0.0.1");
    const ac = new AbortController();
    let listeners = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
    const answered = hm.instanceAction("w0", "stop", ["u1"], ac.signal);
    const cmd = l.sent.find((c) => c.kind === "instanceAction") as Extract<AgentCommand, { kind: "instanceAction" }>;
    expect(cmd.instanceUuids).to.deep.equal(["u1"]);
    hm.instanceActionResult("w0", { requestId: cmd.requestId, success: true, reason: "" });
    await answered;
    expect(listeners).to.equal(0);

    const pending = hm.instanceAction("w0", "migrate-out", ["u1"], ac.signal);
    await hm.disconnected("w0", l);
    const e = await pending.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isDomainError(e)).to.equal(true);
    expect((e as { reason: string }).reason).to.equal("HOST_OFFLINE");
    expect((e as Error).message).to.equal("Host w0 disconnected before answering the instance action");
    expect(listeners).to.equal(0);
  });

  it("finished install operations leave memory (bounded); their progress is read back from the store", async () => {
    const { hm, store } = await setup();
    const l = link();
    await hm.hello(hello("w0"), l, "10.0.0.1");
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const { operationId } = await hm.install("w0", true);
      await hm.installResult("w0", { operationId, success: true, rejected: false, reason: "" });
      ids.push(operationId);
    }
    expect(hm.ops.inMemory).to.equal(256);
    const first = await hm.operation(ids[0]!);
    expect(first).to.include({ operationId: ids[0], phase: "done", terminal: true, message: "Installation was successful." });
    expect(first.time).to.be.instanceOf(Date);
    expect(store.t.ops.get(ids[0]!)!.state).to.equal("done");
    const last = await hm.operation(ids[299]!);
    expect(last.phase).to.equal("done");
    expect(l.sent.filter((c) => c.kind === "install").length).to.equal(300);
  });

  it("ten concurrent installs on one host: one is accepted, nine are FAILED_PRECONDITION naming the running operation", async () => {
    const { hm, store } = await setup();
    const l = link();
    await hm.hello(hello("w0"), l, "10.0.0.1");
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => hm.install("w0", true)));
    const accepted = results.filter((r) => r.status === "fulfilled");
    expect(accepted.length).to.equal(1);
    const opId = (accepted[0] as PromiseFulfilledResult<{ operationId: string }>).value.operationId;
    for (const r of results.filter((x) => x.status === "rejected")) {
      const e = (r as PromiseRejectedResult).reason as Error & { kind: string; reason: string };
      expect(e.kind).to.equal("failed-precondition");
      expect(e.reason).to.equal("INSTALL_IN_PROGRESS");
      expect(e.message).to.equal(`Host w0 is already installing patches (operation ${opId})`);
    }
    expect([...store.t.ops.values()].filter((o) => o.state === "running").map((o) => o.id)).to.deep.equal([opId]);
    expect(l.sent.filter((c) => c.kind === "install").length).to.equal(1);
    // Once it ends, the next install is accepted.
    await hm.installResult("w0", { operationId: opId, success: true, rejected: false, reason: "" });
    expect((await hm.install("w0", true)).operationId).to.not.equal(opId);
  });

  it("operations left running by a crash end at start-up as failed with a reason (watchers end); the newest waits for its host, then fails", async () => {
    const { hm, store, events, pm } = await setup();
    await hm.hello(hello("w0"), link(), "10.0.0.1");
    const { operationId: newest } = await hm.install("w0", true);
    const queued = store.t.ops.get(newest)!.last;
    // What ten accepted installs left behind before the fix, and one of a host since dropped.
    store.t.ops.set("old-1", { id: "old-1", hostname: "w0", state: "running", force: true, startSeq: 0, last: queued && { ...queued, operationId: "old-1" } });
    store.t.ops.set("gone-1", { id: "gone-1", hostname: "gone", state: "running", force: true, startSeq: 0, last: undefined });
    hm.close();
    const hm2 = new HostManager({ store, events, patches: pm, log: createLogger({ level: "silent" }), controllerRelease: "19.09", installResumeGraceMs: 50 });
    await hm2.init();
    expect(store.t.ops.get("old-1")!.state).to.equal("failed");
    expect(store.t.ops.get("old-1")!.last!.message).to.equal(
      `Installation failed: the controller restarted while it ran, and a newer install (operation ${newest}) was started`,
    );
    expect(store.t.ops.get("gone-1")!.state).to.equal("failed");
    expect(store.t.ops.get("gone-1")!.last!.message).to.equal("Installation failed: the controller restarted while it ran, and host gone is no longer known");
    const old = await hm2.operation("old-1");
    expect([old.phase, old.terminal]).to.deep.equal(["failed", true]);
    // A watcher of the stale operation gets its final state and ends.
    const seen: string[] = [];
    for await (const p of hm2.watchOperation("old-1", new AbortController().signal)) seen.push(p.phase);
    expect(seen[seen.length - 1]).to.equal("failed");
    // The newest waits for w0's agent, which does not come back: it fails after the grace period, and its watch ends.
    expect(hm2.runningOperation("w0")).to.equal(newest);
    let last: string | undefined;
    for await (const p of hm2.watchOperation(newest, new AbortController().signal)) last = p.message;
    expect(last).to.equal("Installation failed: the controller restarted while it ran, and host w0 did not reconnect within 0.05 s");
    expect(store.t.ops.get(newest)!.state).to.equal("failed");
    expect(hm2.runningOperation("w0")).to.equal(undefined);
    hm2.close();
  });

  it("a hello's address: the connection's when none is claimed; a claimed one held by another connected host is ALREADY_EXISTS; 'unknown' finds no host", async () => {
    const { hm } = await setup();
    await hm.hello(hello("w0"), link(), "10.0.0.1");
    expect(hm.get("w0").ip).to.equal("10.0.0.1");
    expect(hm.get("10.0.0.1").hostname).to.equal("w0");
    const l1 = link();
    await hm.hello({ ...hello("w1"), mgmtIp: "192.168.204.8" }, l1, "10.0.0.1");
    expect(hm.get("w1").ip).to.equal("192.168.204.8");
    const e = await hm.hello({ ...hello("w2"), mgmtIp: "192.168.204.8" }, link(), "10.0.0.2").then(
      () => undefined,
      (x: unknown) => x as Error & { kind: string; reason: string; hostname: string },
    );
    expect([e?.kind, e?.reason, e?.hostname, e?.message]).to.deep.equal([
      "already-exists",
      "MGMT_IP_IN_USE",
      "w1",
      "hello.mgmt_ip: 192.168.204.8 is the management address of connected host w1",
    ]);
    expect(() => hm.get("w2")).to.throw("Unknown host specified: w2");
    // Once w1 is gone, its address may be taken over.
    await hm.disconnected("w1", l1);
    await hm.hello({ ...hello("w2"), mgmtIp: "192.168.204.8" }, link(), "10.0.0.2");
    expect(hm.get("w2").ip).to.equal("192.168.204.8");
    // Two hellos claiming one address at once: one is refused.
    const both = await Promise.allSettled([hm.hello({ ...hello("w5"), mgmtIp: "fd00::5" }, link(), ""), hm.hello({ ...hello("w6"), mgmtIp: "fd00::5" }, link(), "")]);
    expect(both.map((r) => r.status).sort()).to.deep.equal(["fulfilled", "rejected"]);
    // A host whose address could not be read shows "unknown", and "unknown" is no address to look up.
    await hm.hello(hello("w3"), link(), "");
    expect(hm.get("w3").ip).to.equal("unknown");
    expect(() => hm.get("unknown")).to.throw("Unknown host specified: unknown");
  });

  it("alarms: caller text over its size limit is INVALID_ARGUMENT naming the field; a full alarm list is RESOURCE_EXHAUSTED", async () => {
    const { hm, store, events } = await setup();
    const alarm = { alarmId: "900.001", entityInstanceId: "host=w0", severity: "major", reasonText: "", mgmtAffecting: false, proposedRepairAction: "" };
    const refusal = (a: typeof alarm) =>
      hm.raiseAlarm(a).then(
        () => undefined,
        (e: unknown) => e as Error & { kind: string; reason: string },
      );
    let e = await refusal({ ...alarm, reasonText: "r".repeat(7 * 1024 * 1024) });
    expect([e?.kind, e?.reason, e?.message]).to.deep.equal(["invalid-argument", "TEXT_TOO_LONG", `reason_text: at most 255 characters, got ${7 * 1024 * 1024}`]);
    e = await refusal({ ...alarm, proposedRepairAction: "p".repeat(256) });
    expect(e?.message).to.equal("proposed_repair_action: at most 255 characters, got 256");
    expect(hm.listAlarms()).to.have.length(0);
    // One more than the cap raised at once: the cap counts raises in flight, so exactly one is refused.
    const small = new AlarmService({ store, events, maxAlarms: 50 });
    const all = await Promise.allSettled(Array.from({ length: 51 }, (_, i) => small.raise({ ...alarm, entityInstanceId: `host=w${i}`, reasonText: "r".repeat(255) })));
    expect(all.filter((r) => r.status === "rejected")).to.have.length(1);
    expect(small.list()).to.have.length(50);
    e = await small.raise(alarm).then(
      () => undefined,
      (x: unknown) => x as Error & { kind: string; reason: string },
    );
    expect([e?.kind, e?.message]).to.deep.equal(["resource-exhausted", "active alarms: at most 50 at a time; remove some first"]);
  });
});
