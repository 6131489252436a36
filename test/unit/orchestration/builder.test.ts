import { expect } from "chai";
import { buildApplyStages } from "../../../server/domain/orchestration/builder.js";
import { DEFAULT_OPTIONS, newPhase, phaseTimeout, type StrategyOptions } from "../../../server/domain/orchestration/model.js";
import { aio, describeStages, host, snapshot, standard222, vm } from "./fixtures.js";

const opts = (o: Partial<StrategyOptions> = {}): StrategyOptions => ({ ...DEFAULT_OPTIONS, ...o });

function build(o: Partial<StrategyOptions>, snap: ReturnType<typeof snapshot>) {
  const r = buildApplyStages(opts(o), snap);
  if (!r.ok) throw new Error(`build failed: ${r.reason}`);
  return r.stages;
}

describe("orchestration builder: worked examples (spec §8)", () => {
  it("§8.1 2+2+2 in-service, defaults: six stages of 1891 s, standby controller first", () => {
    const stages = build({}, snapshot(standard222()));
    expect(describeStages(stages)).to.deep.equal([
      ["sw-patch-controllers", 1891, "query-alarms(60), sw-patch-hosts[controller-1](1800), system-stabilize(30)"],
      ["sw-patch-controllers", 1891, "query-alarms(60), sw-patch-hosts[controller-0](1800), system-stabilize(30)"],
      ["sw-patch-storage-hosts", 1891, "query-alarms(60), sw-patch-hosts[storage-0](1800), system-stabilize(30)"],
      ["sw-patch-storage-hosts", 1891, "query-alarms(60), sw-patch-hosts[storage-1](1800), system-stabilize(30)"],
      ["sw-patch-worker-hosts", 1891, "query-alarms(60), sw-patch-hosts[compute-0](1800), system-stabilize(30)"],
      ["sw-patch-worker-hosts", 1891, "query-alarms(60), sw-patch-hosts[compute-1](1800), system-stabilize(30)"],
    ]);
    expect(stages.map((s) => s.stageId)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(phaseTimeout(newPhase("apply", stages), 0, stages.length)).to.equal(11347);
  });

  it("§8.1 with parallel workers (max 2): the two computes share one stage", () => {
    const stages = build({ workerApplyType: "parallel", maxParallelWorkerHosts: 2 }, snapshot(standard222()));
    expect(stages).to.have.length(5);
    expect(describeStages(stages)[4]).to.deep.equal(["sw-patch-worker-hosts", 1891, "query-alarms(60), sw-patch-hosts[compute-0,compute-1](1800), system-stabilize(30)"]);
  });

  it("§8.2 2+2+2 reboot-required, parallel workers max 2: 7876, 7876, 6376, 6376, 4636 = 33141", () => {
    const stages = build({ workerApplyType: "parallel", maxParallelWorkerHosts: 2 }, snapshot(standard222({ requiresReboot: true })));
    const ctrl = (h: string) =>
      `query-alarms(60), swact-hosts[${h}](900), lock-hosts[${h}](900), sw-patch-hosts[${h}](1800), system-stabilize(15), unlock-hosts[${h}](1800), wait-alarms-clear(2400)`;
    const stor = (h: string) =>
      `query-alarms(60), lock-hosts[${h}](900), sw-patch-hosts[${h}](1800), system-stabilize(15), unlock-hosts[${h}](1800), wait-data-sync(1800)`;
    expect(describeStages(stages)).to.deep.equal([
      ["sw-patch-controllers", 7876, ctrl("controller-1")],
      ["sw-patch-controllers", 7876, ctrl("controller-0")],
      ["sw-patch-storage-hosts", 6376, stor("storage-0")],
      ["sw-patch-storage-hosts", 6376, stor("storage-1")],
      [
        "sw-patch-worker-hosts",
        4636,
        "query-alarms(60), lock-hosts[compute-0,compute-1](900), sw-patch-hosts[compute-0,compute-1](1800), system-stabilize(15), unlock-hosts[compute-0,compute-1](1800), system-stabilize(60)",
      ],
    ]);
    expect(phaseTimeout(newPhase("apply", stages), 0, stages.length)).to.equal(33141);
    expect(stages[1]!.steps[1]!.entityUuids).to.deep.equal(["uuid-controller-0"]);
    expect(stages[1]!.steps[1]!.entityType).to.equal("hosts");
  });

  it("§8.2 variant: OpenStack VMs with stop-start → stop/start-instances and wait-alarms-clear(600), 6976 s", () => {
    const hosts = standard222({ requiresReboot: true }).map((h) =>
      h.hostname === "compute-0"
        ? { ...h, openstackCompute: true, instances: [vm("vm-a", "compute-0")] }
        : h.hostname === "compute-1"
          ? { ...h, openstackCompute: true, instances: [vm("vm-b", "compute-1")] }
          : h,
    );
    const stages = build({ workerApplyType: "parallel", maxParallelWorkerHosts: 2 }, snapshot(hosts));
    expect(describeStages(stages)[4]).to.deep.equal([
      "sw-patch-worker-hosts",
      6976,
      "query-alarms(60), stop-instances[vm-a,vm-b](900), lock-hosts[compute-0,compute-1](900), sw-patch-hosts[compute-0,compute-1](1800), system-stabilize(15), unlock-hosts[compute-0,compute-1](1800), start-instances[vm-a,vm-b](900), wait-alarms-clear(600)",
    ]);
    expect(stages[4]!.steps[1]!.entityType).to.equal("instances");
  });

  it("§8.2 variant: anti-affinity VMs put the computes in separate stages", () => {
    const g = { name: "grp", policy: "anti-affinity" };
    const hosts = standard222({ requiresReboot: true }).map((h) =>
      h.hostname.startsWith("compute") ? { ...h, openstackCompute: true, instances: [vm(`vm-${h.hostname}`, h.hostname, { serverGroup: g })] } : h,
    );
    const stages = build({ workerApplyType: "parallel" }, snapshot(hosts));
    expect(stages.slice(4).map((s) => s.steps[2]!.entityNames)).to.deep.equal([["compute-0"], ["compute-1"]]);
  });

  it("§8.2 variant: migrate with parallel workers → disable-host-services + migrate-instances-from-host", () => {
    const hosts = standard222({ requiresReboot: true }).map((h) =>
      h.hostname.startsWith("compute") ? { ...h, openstackCompute: true, instances: [vm(`vm-${h.hostname}`, h.hostname)] } : h,
    );
    const stages = build({ workerApplyType: "parallel", defaultInstanceAction: "migrate" }, snapshot(hosts));
    expect(stages[4]!.steps.map((s) => `${s.name}(${s.timeout})`)).to.deep.equal([
      "query-alarms(60)",
      "disable-host-services(180)",
      "migrate-instances-from-host(1800)",
      "lock-hosts(900)",
      "sw-patch-hosts(1800)",
      "system-stabilize(15)",
      "unlock-hosts(1800)",
      "wait-alarms-clear(600)",
    ]);
  });

  it("§8.2 storage parallel keeps one replication group in separate stages", () => {
    const hosts = standard222({ requiresReboot: true }).map((h) => (h.personality === "storage" ? { ...h, replicationGroup: "group-0" } : h));
    const stages = build({ storageApplyType: "parallel" }, snapshot(hosts));
    expect(stages.filter((s) => s.name === "sw-patch-storage-hosts")).to.have.length(2);
  });

  it("§8.3 AIO duplex reboot-required: one worker stage per controller, 7876 s each", () => {
    const snap = snapshot([aio("controller-0", { requiresReboot: true }), aio("controller-1", { requiresReboot: true })]);
    const step = (h: string) =>
      `query-alarms(60), swact-hosts[${h}](900), lock-hosts[${h}](900), sw-patch-hosts[${h}](1800), system-stabilize(15), unlock-hosts[${h}](1800), wait-alarms-clear(2400)`;
    const expected = [
      ["sw-patch-worker-hosts", 7876, step("controller-0")],
      ["sw-patch-worker-hosts", 7876, step("controller-1")],
    ];
    expect(describeStages(build({}, snap))).to.deep.equal(expected);
    expect(describeStages(build({ workerApplyType: "parallel" }, snap))).to.deep.equal(expected);
  });

  it("§8.3 AIO duplex with VMs and stop-start: nine steps, stop after swact, start after unlock", () => {
    const snap = snapshot([aio("controller-0", { requiresReboot: true, instances: [vm("vm-a", "controller-0")] }), aio("controller-1", { requiresReboot: true })]);
    const stages = build({}, snap);
    expect(stages[0]!.steps.map((s) => s.name)).to.deep.equal([
      "query-alarms",
      "swact-hosts",
      "stop-instances",
      "lock-hosts",
      "sw-patch-hosts",
      "system-stabilize",
      "unlock-hosts",
      "start-instances",
      "wait-alarms-clear",
    ]);
  });

  it("§8.3 AIO duplex in-service: query-alarms, sw-patch-hosts, system-stabilize(30) per controller", () => {
    const stages = build({}, snapshot([aio("controller-0"), aio("controller-1")]));
    expect(describeStages(stages)).to.deep.equal([
      ["sw-patch-worker-hosts", 1891, "query-alarms(60), sw-patch-hosts[controller-0](1800), system-stabilize(30)"],
      ["sw-patch-worker-hosts", 1891, "query-alarms(60), sw-patch-hosts[controller-1](1800), system-stabilize(30)"],
    ]);
  });

  it("§8.3 AIO duplex + workers: the AIO stages come first", () => {
    const stages = build({}, snapshot([aio("controller-0"), aio("controller-1"), host("compute-0")]));
    expect(stages.map((s) => s.steps[1]!.entityNames[0])).to.deep.equal(["controller-0", "controller-1", "compute-0"]);
  });

  it("§8.3 worker-apply-type ignore on AIO → no software patches need to be applied", () => {
    const r = buildApplyStages(opts({ workerApplyType: "ignore" }), snapshot([aio("controller-0"), aio("controller-1")]));
    expect(r).to.deep.equal({ ok: false, reason: "no software patches need to be applied" });
  });

  it("§8.4 AIO simplex: one stage, no swact, lock without waiting for disabled", () => {
    const snap = snapshot([aio("controller-0", { requiresReboot: true, instances: [vm("vm-a", "controller-0")] })], { singleController: true });
    const stages = build({}, snap);
    expect(describeStages(stages)).to.deep.equal([
      [
        "sw-patch-worker-hosts",
        8776,
        "query-alarms(60), stop-instances[vm-a](900), lock-hosts[controller-0](900), sw-patch-hosts[controller-0](1800), system-stabilize(15), unlock-hosts[controller-0](1800), start-instances[vm-a](900), wait-alarms-clear(2400)",
      ],
    ]);
    expect(stages[0]!.steps[2]!.waitDisabled).to.equal(false);
  });

  it("§8.4 AIO simplex with migrate and OpenStack → build fails", () => {
    const snap = snapshot([aio("controller-0", { requiresReboot: true, openstackCompute: true })], { singleController: true });
    expect(buildApplyStages(opts({ defaultInstanceAction: "migrate" }), snap)).to.deep.equal({
      ok: false,
      reason: "cannot migrate instances in a single controller configuration",
    });
  });
});

describe("orchestration builder: checks (spec §6)", () => {
  const fails = (o: Partial<StrategyOptions>, snap: ReturnType<typeof snapshot>) => {
    const r = buildApplyStages(opts(o), snap);
    expect(r.ok).to.equal(false);
    return (r as { reason: string }).reason;
  };

  it("no patches → no software patches found", () => {
    expect(fails({}, snapshot(standard222(), { patches: [] }))).to.equal("no software patches found");
  });

  it("an unignored alarm → active alarms present (strict); relaxed ignores non-mgmt-affecting ones", () => {
    const alarm = { uuid: "a", alarmId: "100.101", entityInstanceId: "host=controller-0", severity: "major", mgmtAffecting: false, raisedAt: new Date() };
    expect(fails({}, snapshot(standard222(), { alarms: [alarm] }))).to.equal("active alarms present: 100.101 (host=controller-0)");
    expect(buildApplyStages(opts({ alarmRestrictions: "relaxed" }), snapshot(standard222(), { alarms: [alarm] })).ok).to.equal(true);
    expect(fails({ alarmRestrictions: "relaxed" }, snapshot(standard222(), { alarms: [{ ...alarm, mgmtAffecting: true }] }))).to.equal(
      "active alarms present: 100.101 (host=controller-0)",
    );
  });

  it("names every blocking alarm (by id, then entity), up to five, then how many more", () => {
    const a = (alarmId: string, entity: string) => ({
      uuid: `${alarmId}/${entity}`,
      alarmId,
      entityInstanceId: entity,
      severity: "major",
      mgmtAffecting: true,
      raisedAt: new Date(),
    });
    const two = [a("400.001", "service_domain=controller"), a("100.114", "host=controller-0.ntp")];
    expect(fails({}, snapshot(standard222(), { alarms: two }))).to.equal("active alarms present: 100.114 (host=controller-0.ntp), 400.001 (service_domain=controller)");
    const seven = ["7", "6", "5", "4", "3", "2", "1"].map((n) => a("100.101", `host=compute-${n}`));
    expect(fails({}, snapshot(standard222(), { alarms: seven }))).to.equal(
      "active alarms present: 100.101 (host=compute-1), 100.101 (host=compute-2), 100.101 (host=compute-3), 100.101 (host=compute-4), 100.101 (host=compute-5) and 2 more",
    );
  });

  it("ignored alarms (900.001, 200.001, 750.006 …) do not block the build", () => {
    const alarms = ["900.001", "200.001", "700.004", "750.006", "900.101"].map((id) => ({
      uuid: id,
      alarmId: id,
      entityInstanceId: "x",
      severity: "major",
      mgmtAffecting: true,
      raisedAt: new Date(),
    }));
    expect(buildApplyStages(opts(), snapshot(standard222(), { alarms })).ok).to.equal(true);
  });

  it("host state checks name the personality", () => {
    const hosts = standard222();
    hosts[2] = { ...hosts[2]!, availability: "degraded" };
    expect(fails({}, snapshot(hosts))).to.equal("all storage hosts must be unlocked-enabled-available");
    const h2 = standard222();
    h2[0] = { ...h2[0]!, adminState: "locked", operationalState: "disabled" };
    expect(fails({}, snapshot(h2))).to.equal("all controller hosts must be unlocked-enabled-available");
    const h3 = standard222();
    h3[4] = { ...h3[4]!, availability: "degraded" };
    expect(fails({}, snapshot(h3))).to.equal("all worker hosts must be unlocked-enabled-available, locked-disabled-online or locked-disabled-offline");
  });

  it("a locked-disabled-offline worker passes and is skipped", () => {
    const hosts = standard222();
    hosts[5] = { ...hosts[5]!, adminState: "locked", operationalState: "disabled", availability: "offline" };
    const stages = build({}, snapshot(hosts));
    expect(stages.map((s) => s.steps[1]!.entityNames[0])).to.not.include("compute-1");
  });

  it("pending patch state → at least one host is in pending patch current state", () => {
    const hosts = standard222();
    hosts[4] = { ...hosts[4]!, interim: true };
    expect(fails({}, snapshot(hosts))).to.equal("at least one host is in pending patch current state");
  });

  it("controller checks: one controller, parallel controllers", () => {
    expect(fails({}, snapshot([host("controller-0"), host("compute-0")]))).to.equal("not enough controllers to apply software update");
    expect(fails({ controllerApplyType: "parallel" }, snapshot(standard222()))).to.equal("parallel apply type not allowed for controllers");
    expect(build({ controllerApplyType: "ignore" }, snapshot(standard222()))).to.have.length(4);
  });

  it("one storage host needing the patch → not enough storage hosts", () => {
    expect(fails({}, snapshot([host("controller-0"), host("controller-1"), host("storage-0")]))).to.equal("not enough storage hosts to apply software updates");
  });

  it("everything patch-current → no software patches need to be applied", () => {
    expect(fails({}, snapshot(standard222({ patchCurrent: true })))).to.equal("no software patches need to be applied");
  });

  it("a stopped VM in a server group blocks a reboot-required build", () => {
    const hosts = standard222({ requiresReboot: true });
    hosts[4] = { ...hosts[4]!, instances: [vm("vm-s", "compute-0", { state: "stopped", serverGroup: { name: "g1", policy: "affinity" } })] };
    expect(fails({}, snapshot(hosts))).to.equal("instance vm-s in group g1 must not be shut down");
  });

  it("parallel workers are split into chunks of max-parallel-worker-hosts", () => {
    const hosts = [host("controller-0", { patchCurrent: true }), host("controller-1", { patchCurrent: true })];
    for (let i = 0; i < 5; i++) hosts.push(host(`compute-${i}`));
    const stages = build({ workerApplyType: "parallel", maxParallelWorkerHosts: 2 }, snapshot(hosts));
    expect(stages.map((s) => s.steps[1]!.entityNames)).to.deep.equal([["compute-0", "compute-1"], ["compute-2", "compute-3"], ["compute-4"]]);
  });
});
