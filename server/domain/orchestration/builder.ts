import { blockingAlarms, describeAlarms } from "./alarms.js";
import { newStage, newStep, type StrategyOptions, type StrategyStage, type StrategyStep, type StageName } from "./model.js";
import { hasWorker, isAio, type ClusterSnapshot, type HostSnapshot, type InstanceSnapshot } from "./ports.js";

/** Outcome of the post-build checks and apply-phase construction (spec orchestration §6, §7). */
export type BuildOutcome = { ok: true; stages: StrategyStage[] } | { ok: false; reason: string };

const WORKER_OK_STATES = new Set(["unlocked-enabled-available", "locked-disabled-offline", "locked-disabled-online"]);

function hostState(h: HostSnapshot): string {
  return `${h.adminState}-${h.operationalState}-${h.availability}`;
}

class BuildError extends Error {}

/**
 * Runs the §6 checks over `snapshot` and, if they pass, builds the apply-phase stages per §7.
 * Pure: no I/O, so the worked examples of §8 can be reproduced from synthetic snapshots.
 * `extraIgnoredAlarms` is the VIM `ignore_alarms` configuration.
 */
export function buildApplyStages(options: StrategyOptions, snapshot: ClusterSnapshot, extraIgnoredAlarms: readonly string[] = []): BuildOutcome {
  // 1. patches
  if (snapshot.patches.length === 0) return { ok: false, reason: "no software patches found" };
  // 2. alarms (the build's query-alarms context)
  const blocking = blockingAlarms(snapshot.alarms, { restriction: options.alarmRestrictions, context: "query-alarms", extraIgnored: extraIgnoredAlarms });
  // The reference's words first (scripts match them), then which alarms block, so that an operator knows what to clear.
  if (blocking.length > 0) return { ok: false, reason: `active alarms present: ${describeAlarms(blocking)}` };
  // 3. host states over the whole inventory
  for (const h of snapshot.hosts) {
    const workerOnly = h.personality === "worker";
    if (workerOnly) {
      if (!WORKER_OK_STATES.has(hostState(h))) {
        return { ok: false, reason: "all worker hosts must be unlocked-enabled-available, locked-disabled-online or locked-disabled-offline" };
      }
    } else if (hostState(h) !== "unlocked-enabled-available") {
      return { ok: false, reason: `all ${h.personality} hosts must be unlocked-enabled-available` };
    }
  }
  // 4. pending patch state
  if (snapshot.hosts.some((h) => h.interim)) return { ok: false, reason: "at least one host is in pending patch current state" };
  // 5. stage generation
  let stages: StrategyStage[];
  try {
    stages = new StageBuilder(options, snapshot).build();
  } catch (e) {
    if (e instanceof BuildError) return { ok: false, reason: e.message };
    throw e;
  }
  // 6. nothing to do
  if (stages.length === 0) return { ok: false, reason: "no software patches need to be applied" };
  stages.forEach((s, i) => (s.stageId = i));
  return { ok: true, stages };
}

interface Lists {
  controllers: HostSnapshot[];
  controllersNoReboot: HostSnapshot[];
  storage: HostSnapshot[];
  storageNoReboot: HostSnapshot[];
  workers: HostSnapshot[];
  workersNoReboot: HostSnapshot[];
}

const ANTI_AFFINITY = new Set(["anti-affinity", "anti-affinity-best-effort"]);

class StageBuilder {
  private readonly stages: StrategyStage[] = [];
  private readonly instancesByHost = new Map<string, InstanceSnapshot[]>();

  constructor(
    private readonly o: StrategyOptions,
    private readonly snap: ClusterSnapshot,
  ) {
    for (const h of snap.hosts)
      this.instancesByHost.set(
        h.hostname,
        h.instances.map((i) => ({ ...i, host: i.host || h.hostname })),
      );
  }

  build(): StrategyStage[] {
    const l: Lists = { controllers: [], controllersNoReboot: [], storage: [], storageNoReboot: [], workers: [], workersNoReboot: [] };
    // §7.1 classification
    for (const h of this.snap.hosts) {
      if (h.patchCurrent) continue;
      if (h.personality === "controller") (h.requiresReboot ? l.controllers : l.controllersNoReboot).push(h);
      else if (h.personality === "storage") (h.requiresReboot ? l.storage : l.storageNoReboot).push(h);
      if (hasWorker(h) && h.availability !== "offline") (h.requiresReboot ? l.workers : l.workersNoReboot).push(h);
    }
    // §7.2 fixed order
    this.controllerStages(l.controllersNoReboot, false);
    this.controllerStages(l.controllers, true);
    this.storageStages(l.storageNoReboot, false);
    this.storageStages(l.storage, true);
    this.workerStages(l.workersNoReboot, false);
    this.workerStages(l.workers, true);
    return this.stages;
  }

  private vmsOf(hosts: readonly HostSnapshot[]): InstanceSnapshot[] {
    return hosts.flatMap((h) => this.instancesByHost.get(h.hostname) ?? []);
  }

  private add(name: StageName, steps: StrategyStep[]): void {
    this.stages.push(newStage(name, steps));
  }

  // §7.3
  private controllerStages(hosts: HostSnapshot[], reboot: boolean): void {
    const type = this.o.controllerApplyType;
    if (type === "ignore") return;
    const numControllers = this.snap.hosts.filter((h) => h.personality === "controller").length;
    if (this.snap.singleController) {
      if (numControllers !== 1) throw new BuildError("host inventory personality controller mismatch detected");
    } else if (numControllers < 2) {
      throw new BuildError("not enough controllers to apply software update");
    }
    if (type === "parallel") throw new BuildError("parallel apply type not allowed for controllers");
    const list = hosts.filter((h) => !isAio(h));
    const local = list.filter((h) => h.hostname === this.snap.activeController);
    const ordered = list.filter((h) => h.hostname !== this.snap.activeController).concat(local);
    for (const h of ordered) {
      if (!reboot) {
        this.add("sw-patch-controllers", [newStep("query-alarms"), newStep("sw-patch-hosts", { hosts: [h] }), newStep("system-stabilize", { timeout: 30 })]);
      } else {
        this.add("sw-patch-controllers", [
          newStep("query-alarms"),
          newStep("swact-hosts", { hosts: [h] }),
          newStep("lock-hosts", { hosts: [h], waitDisabled: true }),
          newStep("sw-patch-hosts", { hosts: [h] }),
          newStep("system-stabilize", { timeout: 15 }),
          newStep("unlock-hosts", { hosts: [h] }),
          newStep("wait-alarms-clear", { timeout: 2400 }),
        ]);
      }
    }
  }

  // §7.4
  private storageStages(hosts: HostSnapshot[], reboot: boolean): void {
    const type = this.o.storageApplyType;
    if (type === "ignore" || hosts.length === 0) return;
    if (this.snap.hosts.filter((h) => h.personality === "storage").length < 2) {
      throw new BuildError("not enough storage hosts to apply software updates");
    }
    let lists: HostSnapshot[][];
    if (type === "serial") {
      lists = hosts.map((h) => [h]);
    } else {
      lists = [];
      for (const h of hosts) {
        const group = h.replicationGroup;
        const fit = lists.find((list) => group === undefined || !list.some((m) => m.replicationGroup === group));
        if (fit) fit.push(h);
        else lists.push([h]);
      }
    }
    for (const list of lists) {
      if (!reboot) {
        this.add("sw-patch-storage-hosts", [newStep("query-alarms"), newStep("sw-patch-hosts", { hosts: list }), newStep("system-stabilize", { timeout: 30 })]);
      } else {
        this.add("sw-patch-storage-hosts", [
          newStep("query-alarms"),
          newStep("lock-hosts", { hosts: list, waitDisabled: true }),
          newStep("sw-patch-hosts", { hosts: list }),
          newStep("system-stabilize", { timeout: 15 }),
          newStep("unlock-hosts", { hosts: list }),
          newStep("wait-data-sync", { timeout: 1800 }),
        ]);
      }
    }
  }

  // §7.5
  private workerStages(hosts: HostSnapshot[], reboot: boolean): void {
    const type = this.o.workerApplyType;
    if (type === "ignore" || hosts.length === 0) return;
    const max = this.o.maxParallelWorkerHosts;
    const hasVms = (h: HostSnapshot) => (this.instancesByHost.get(h.hostname) ?? []).length > 0;
    if (this.snap.singleController && this.o.defaultInstanceAction === "migrate" && hosts.some((h) => h.openstackCompute)) {
      throw new BuildError("cannot migrate instances in a single controller configuration");
    }
    if (reboot) {
      for (const vm of this.vmsOf(hosts)) {
        if (vm.state === "stopped" && vm.serverGroup) {
          throw new BuildError(`instance ${vm.name} in group ${vm.serverGroup.name} must not be shut down`);
        }
      }
    }
    let lists: HostSnapshot[][] = [];
    if (type === "serial") {
      const ctrl = hosts.filter((h) => h.personality === "controller");
      const rest = hosts.filter((h) => h.personality !== "controller");
      lists = [...ctrl, ...rest.filter((h) => !hasVms(h)), ...rest.filter(hasVms)].map((h) => [h]);
    } else {
      const ctrlLists = hosts.filter((h) => h.personality === "controller").map((h) => [h]);
      const bucket: HostSnapshot[] = [];
      const vmLists: HostSnapshot[][] = [];
      for (const h of hosts.filter((x) => x.personality !== "controller")) {
        if (!reboot || !hasVms(h)) {
          bucket.push(h);
          continue;
        }
        const groups = this.antiAffinityGroups([h]);
        const fit = vmLists.find((list) => list.length < max && !this.antiAffinityGroups(list).some((g) => groups.includes(g)));
        if (fit) fit.push(h);
        else vmLists.push([h]);
      }
      const all = [...ctrlLists, bucket, ...vmLists].filter((x) => x.length > 0);
      for (const list of all) for (let i = 0; i < list.length; i += max) lists.push(list.slice(i, i + max));
    }
    for (const list of lists) this.add("sw-patch-worker-hosts", reboot ? this.workerRebootSteps(list) : this.workerInServiceSteps(list));
  }

  private antiAffinityGroups(hosts: readonly HostSnapshot[]): string[] {
    return this.vmsOf(hosts)
      .filter((vm) => vm.serverGroup && ANTI_AFFINITY.has(vm.serverGroup.policy))
      .map((vm) => vm.serverGroup!.name);
  }

  private workerInServiceSteps(list: HostSnapshot[]): StrategyStep[] {
    return [newStep("query-alarms"), newStep("sw-patch-hosts", { hosts: list }), newStep("system-stabilize", { timeout: 30 })];
  }

  private workerRebootSteps(list: HostSnapshot[]): StrategyStep[] {
    const single = this.snap.singleController;
    const vms = this.vmsOf(list).filter((vm) => vm.state !== "stopped");
    const openstackHosts = list.filter((h) => h.openstackCompute);
    const alreadyLocked = list.filter((h) => h.adminState === "locked");
    const toLock = list.filter((h) => h.adminState !== "locked");
    const steps: StrategyStep[] = [newStep("query-alarms")];
    if (list.length === 1 && list[0]!.personality === "controller" && !single) steps.push(newStep("swact-hosts", { hosts: list }));
    const stopStart = this.o.defaultInstanceAction === "stop-start";
    if (this.o.defaultInstanceAction === "migrate" && openstackHosts.length > 0) {
      if (this.o.workerApplyType === "parallel") steps.push(newStep("disable-host-services", { hosts: openstackHosts }));
      steps.push(newStep("migrate-instances-from-host", { hosts: openstackHosts, instances: this.vmsOf(openstackHosts).filter((vm) => vm.state !== "stopped") }));
    } else if (stopStart && vms.length > 0) {
      steps.push(newStep("stop-instances", { instances: vms }));
    }
    if (toLock.length > 0) steps.push(newStep("lock-hosts", { hosts: toLock, waitDisabled: !single }));
    steps.push(newStep("sw-patch-hosts", { hosts: list }));
    steps.push(newStep("system-stabilize", { timeout: 15 }));
    if (toLock.length > 0) steps.push(newStep("unlock-hosts", { hosts: toLock }));
    if (alreadyLocked.length > 0) steps.push(newStep("reboot-hosts", { hosts: alreadyLocked }));
    if (stopStart && vms.length > 0) steps.push(newStep("start-instances", { instances: vms }));
    if (list.some((h) => h.personality === "controller")) steps.push(newStep("wait-alarms-clear", { timeout: 2400 }));
    else if (openstackHosts.length > 0) steps.push(newStep("wait-alarms-clear", { timeout: 600 }));
    else steps.push(newStep("system-stabilize", { timeout: 60 }));
    return steps;
  }
}
