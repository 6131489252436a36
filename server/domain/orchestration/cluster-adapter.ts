import { createHash } from "node:crypto";
import { delay } from "abort-controller-x";
import type { InstallPhase } from "../hosts/agent-types.js";
import type { HostManager, HostStatus } from "../hosts/host-manager.js";
import type { PatchManager } from "../patches/patch-manager.js";
import type { Logger } from "../../lib/log.js";
import { hasWorker, isAio, type ClusterPort, type ClusterSnapshot, type HostSnapshot, type OrchestrationAlarm } from "./ports.js";

/** Options of {@link createClusterAdapter}. */
export interface ClusterAdapterOptions {
  hosts: HostManager;
  patches: PatchManager;
  log?: Logger;
  /** Real milliseconds between host-state polls while waiting for a host (unlock). Default 500. */
  pollMs?: number;
}

/** Orchestration alarms (FM ids, spec orchestration §10–§12); entity `orchestration=sw-patch`. */
const ORCH_ALARMS: Record<Exclude<OrchestrationAlarm, null>, { alarmId: string; severity: string; reasonText: string }> = {
  "apply-inprogress": { alarmId: "900.101", severity: "major", reasonText: "Software patch auto-apply inprogress" },
  "apply-aborting": { alarmId: "900.102", severity: "major", reasonText: "Software patch auto-apply aborting" },
  "apply-failed": { alarmId: "900.103", severity: "critical", reasonText: "Software patch auto-apply failed" },
};
const ORCH_ENTITY = "orchestration=sw-patch";

const uuids = new Map<string, string>();

/** A stable uuid-shaped id for a hostname (hosts have no inventory uuid here). */
export function hostUuid(hostname: string): string {
  // Computed once per hostname: every strategy step's snapshot names every host (scale).
  let u = uuids.get(hostname);
  if (u === undefined) {
    u = computeHostUuid(hostname);
    uuids.set(hostname, u);
  }
  return u;
}

function computeHostUuid(hostname: string): string {
  const h = createHash("sha1").update(`host:${hostname}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Each (frozen, shared) status's snapshot, frozen too: a host that did not change costs a lookup (scale). */
const snapshots = new WeakMap<Readonly<HostStatus>, HostSnapshot>();

function cachedHostSnapshot(h: Readonly<HostStatus>): HostSnapshot {
  let s = snapshots.get(h);
  if (!s) {
    s = Object.freeze(toHostSnapshot(h));
    snapshots.set(h, s);
  }
  return s;
}

function toHostSnapshot(h: Readonly<HostStatus>): HostSnapshot {
  const availability = h.availability === "available" ? "available" : "offline";
  const num = /-(\d+)$/.exec(h.hostname);
  const snap: HostSnapshot = {
    hostname: h.hostname,
    uuid: hostUuid(h.hostname),
    personality: h.personality,
    subfunctions: [...h.subfunctions],
    adminState: h.adminState,
    operationalState: h.adminState === "locked" ? "disabled" : h.operational,
    availability: h.adminState === "locked" && availability === "available" ? "online" : availability,
    patchCurrent: h.patchCurrent === "Yes",
    interim: h.interim,
    patchFailed: h.patchCurrent === "Failed",
    requiresReboot: h.requiresRebootShown,
    instances: h.instances.map((i) => ({ uuid: i.uuid, name: i.name, state: i.state, host: h.hostname })),
    openstackCompute: hasWorker(h) && h.instances.length > 0,
  };
  // StarlingX pairs storage hosts into replication groups: storage-0/1 → group-0, storage-2/3 → group-1.
  if (h.personality === "storage" && num) snap.replicationGroup = `group-${Math.floor(Number(num[1]) / 2)}`;
  return snap;
}

/**
 * The controller's {@link ClusterPort} over HostManager and PatchManager.
 *
 * Locked hosts are reported `disabled`/`online`; hosts without an agent link `offline`.
 * Instance actions go to the agents (InstanceActionCommand); a migration moves a host's
 * instances to the other connected, unlocked worker with the fewest instances. Compute host
 * services do not exist here, so disable/enable-host-services are no-ops.
 */
export function createClusterAdapter(o: ClusterAdapterOptions): ClusterPort {
  const pollMs = o.pollMs ?? 500;
  const hm = o.hosts;

  function singleController(): boolean {
    // From the records: a status for each host is not needed to count the controllers.
    const ctrls = hm.records().filter((h) => h.personality === "controller");
    return ctrls.length === 1 && isAio(ctrls[0]!);
  }

  /** Polls until `ok(host)`; false if `maxMs` passed first. */
  async function waitHost(host: string, signal: AbortSignal, ok: (h: HostStatus) => boolean, maxMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const until = Date.now() + maxMs;
    for (;;) {
      if (ok(hm.get(host))) return true;
      if (Date.now() >= until) return false;
      await delay(signal, pollMs);
    }
  }

  return {
    async awaitReconnect(signal) {
      // Every known host whose agent comes back within a minute; hosts that stay away are left
      // for the steps to judge.
      const until = Date.now() + 60_000;
      while (Date.now() < until && hm.list().some((h) => !h.connected)) await delay(signal, 200);
    },
    async snapshot() {
      const hosts = hm.listStatuses().map((h) => {
        const snap = cachedHostSnapshot(h);
        // ROLLOUT (issue 20): the agent's health check, for the agents gate (a copy: the cached snapshot is shared).
        const health = hm.agentHealth.get(h.hostname);
        return health ? { ...snap, health: { ...health } } : snap;
      });
      const snap: ClusterSnapshot = {
        hosts,
        alarms: hm.listAlarms().map((a) => ({
          uuid: a.uuid,
          alarmId: a.alarmId,
          entityInstanceId: a.entityInstanceId,
          severity: a.severity,
          mgmtAffecting: a.mgmtAffecting,
          raisedAt: a.time,
        })),
        patches: o.patches.all().map((p) => ({ id: p.meta.id, patchState: p.patchState })),
        activeController: hm.activeControllerName,
        singleController: singleController(),
      };
      return snap;
    },
    async swact(host) {
      await hm.swact(host);
    },
    async lock(host) {
      await hm.lock(host, singleController());
    },
    async unlock(host, signal) {
      const h = hm.get(host);
      if (h.adminState === "locked") {
        // A reboot shows "rebooting" until the agent says hello again.
        await hm.unlock(host);
      }
      await waitHost(host, signal, (x) => x.adminState === "unlocked" && x.connected && x.availability === "available");
    },
    async reboot(host, signal) {
      await hm.reboot(host);
      await waitHost(host, signal, (x) => x.connected && x.availability === "available");
    },
    async install(host, signal) {
      // Idempotent, so a step resumed after a controller restart is safe: attach to an install
      // still running, and do nothing for a host that is already current.
      // After a controller restart, agents come back within seconds: wait (the step timer bounds it).
      await waitHost(host, signal, (x) => x.connected);
      const h = hm.get(host);
      const running = hm.runningOperation(host);
      if (!running && h.patchCurrent === "Yes" && h.pendingChanges === 0) return { success: true, reason: "" };
      const operationId = running ?? (await hm.install(host, false)).operationId;
      let last: { phase: InstallPhase; message: string } | undefined;
      for await (const p of hm.watchOperation(operationId, signal)) {
        last = p;
        if (p.terminal) break;
      }
      if (last?.phase === "done") return { success: true, reason: "" };
      return { success: false, reason: last?.message ?? "install did not complete" };
    },
    async stopInstances(host, uuids, signal) {
      if (!uuids.length) return;
      await waitHost(host, signal, (x) => x.connected);
      await hm.instanceAction(host, "stop", uuids, signal);
    },
    async startInstances(host, uuids, signal) {
      if (!uuids.length) return;
      await waitHost(host, signal, (x) => x.connected);
      await hm.instanceAction(host, "start", uuids, signal);
    },
    async migrateInstances(host, signal) {
      const src = hm.get(host);
      const uuids = src.instances.map((i) => i.uuid);
      if (uuids.length === 0) return;
      const targets = hm
        .list()
        .filter((x) => x.hostname !== src.hostname && x.connected && x.adminState === "unlocked" && hasWorker(x))
        .sort((a, b) => a.instances.length - b.instances.length);
      const dst = targets[0];
      if (!dst) throw new Error(`no unlocked worker can take the instances of ${src.hostname}`);
      await hm.instanceAction(src.hostname, "migrate-out", uuids, signal);
      await hm.instanceAction(dst.hostname, "migrate-in", uuids, signal);
    },
    // ROLLOUT (issue 20): a rollback's first step; patches already on their way out are skipped.
    async removePatches(ids, signal) {
      const todo = ids.filter((id) => {
        const p = o.patches.all().find((x) => x.meta.id === id);
        return p !== undefined && p.patchState !== "Available" && p.patchState !== "Partial-Remove";
      });
      if (todo.length > 0) await o.patches.remove(todo, {}, signal);
    },
    async disableHostServices() {},
    async enableHostServices() {},
    async setOrchestrationAlarm(alarm) {
      const want = alarm ? ORCH_ALARMS[alarm].alarmId : undefined;
      for (const a of hm.listAlarms()) {
        if (a.entityInstanceId === ORCH_ENTITY && a.alarmId !== want) await hm.clearAlarm(a.uuid);
      }
      if (!alarm) return;
      if (hm.listAlarms().some((a) => a.entityInstanceId === ORCH_ENTITY && a.alarmId === want)) return;
      const def = ORCH_ALARMS[alarm];
      await hm.raiseAlarm({
        alarmId: def.alarmId,
        entityInstanceId: ORCH_ENTITY,
        severity: def.severity,
        reasonText: def.reasonText,
        mgmtAffecting: false,
        proposedRepairAction:
          alarm === "apply-failed"
            ? "Attempt to apply software patches manually; if problem persists contact next level of support"
            : "Wait for patch auto-apply to complete",
      });
    },
    sleep: (ms, signal) => delay(signal, ms),
  };
}
