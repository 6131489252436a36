import type { ClusterSnapshot, HostSnapshot, InstanceSnapshot } from "../../../server/domain/orchestration/ports.js";
import type { StrategyStage } from "../../../server/domain/orchestration/model.js";

/** A healthy host that needs the patch (unlocked-enabled-available, not patch-current). */
export function host(hostname: string, over: Partial<HostSnapshot> = {}): HostSnapshot {
  const personality = over.personality ?? (hostname.startsWith("controller") ? "controller" : hostname.startsWith("storage") ? "storage" : "worker");
  return {
    hostname,
    uuid: `uuid-${hostname}`,
    personality,
    subfunctions: [personality],
    adminState: "unlocked",
    operationalState: "enabled",
    availability: "available",
    patchCurrent: false,
    interim: false,
    patchFailed: false,
    requiresReboot: false,
    instances: [],
    ...over,
  };
}

export function aio(hostname: string, over: Partial<HostSnapshot> = {}): HostSnapshot {
  return host(hostname, { personality: "controller", subfunctions: ["controller", "worker"], ...over });
}

export function vm(name: string, hostname: string, over: Partial<InstanceSnapshot> = {}): InstanceSnapshot {
  return { uuid: `uuid-${name}`, name, state: "running", host: hostname, ...over };
}

export function snapshot(hosts: HostSnapshot[], over: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    hosts,
    alarms: [],
    patches: [{ id: "PATCH_0001", patchState: "Partial-Apply" }],
    activeController: "controller-0",
    singleController: false,
    ...over,
  };
}

/** Standard 2+2+2 system. */
export function standard222(over: Partial<HostSnapshot> = {}): HostSnapshot[] {
  return ["controller-0", "controller-1", "storage-0", "storage-1", "compute-0", "compute-1"].map((h) => host(h, over));
}

/** A compact description of stages: [name, timeout, "step[hosts](timeout), ..."]. */
export function describeStages(stages: readonly StrategyStage[]): [string, number, string][] {
  return stages.map((s) => [
    s.name,
    s.timeout,
    s.steps.map((st) => `${st.name}${st.entityNames.length ? `[${st.entityNames.join(",")}]` : ""}(${st.timeout})`).join(", "),
  ]);
}
