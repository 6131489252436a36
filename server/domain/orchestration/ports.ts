/**
 * The narrow view of the cluster the orchestration engine needs (spec orchestration §5, §9).
 * The controller implements it over HostManager/PatchManager (cluster-adapter.ts); unit tests
 * implement it with a fake. Every action takes an AbortSignal and rejects with AbortError when
 * it fires; any other rejection is a step failure whose message may become the step reason.
 */

/** An instance (VM) as the engine sees it. */
export interface InstanceSnapshot {
  uuid: string;
  name: string;
  /** "running", "stopped", "migrating", ... ; "stopped" means locked/shut down. */
  state: string;
  /** Hostname the instance runs on. */
  host: string;
  /** Server group and its policy, if any ("anti-affinity", "anti-affinity-best-effort", "affinity"). */
  serverGroup?: { name: string; policy: string };
}

export interface HostSnapshot {
  hostname: string;
  uuid: string;
  /** "controller" | "storage" | "worker". */
  personality: string;
  /** e.g. ["controller", "worker"] for an AIO host. */
  subfunctions: string[];
  adminState: "locked" | "unlocked";
  operationalState: "enabled" | "disabled";
  /** "available", "online", "offline", "degraded", ... */
  availability: string;
  /** All applied patches are installed on the host. */
  patchCurrent: boolean;
  /** Patch current = Pending (interim state, §6 check 4). */
  interim: boolean;
  /** The host's last install failed. */
  patchFailed: boolean;
  /** The host's pending install needs a reboot (§7.1). */
  requiresReboot: boolean;
  /** Instances on this host. */
  instances: InstanceSnapshot[];
  /** OpenStack compute services configured on the host (§7.5 `openstack_hosts`). Default false. */
  openstackCompute?: boolean;
  /** Storage replication group (§7.4); hosts of one group never share a parallel stage. */
  replicationGroup?: string;
  /** ROLLOUT (issue 20): the agent's last health check (`sw-patch-agent --health-check`); absent when unknown. */
  health?: HostHealth;
}

/** ROLLOUT (issue 20): a host agent's health check as last reported. */
export interface HostHealth {
  /** false when the agent has no `--health-check`. */
  configured: boolean;
  healthy: boolean;
  detail: string;
  checkedAt?: Date;
}

export interface AlarmSnapshot {
  uuid: string;
  /** "NNN.NNN". */
  alarmId: string;
  entityInstanceId: string;
  severity: string;
  mgmtAffecting: boolean;
  raisedAt: Date;
}

export interface PatchSnapshot {
  id: string;
  /** Available, Partial-Apply, Applied, Partial-Remove, Committed. */
  patchState: string;
}

export interface ClusterSnapshot {
  /** In the patching back end's order (hostname order). */
  hosts: HostSnapshot[];
  alarms: AlarmSnapshot[];
  patches: PatchSnapshot[];
  /** Hostname of the active controller (where the orchestrator runs). */
  activeController: string;
  /** Single-controller (AIO simplex) system. */
  singleController: boolean;
}

/** Which orchestration alarm is raised (§10–§12); null clears them all. */
export type OrchestrationAlarm = "apply-inprogress" | "apply-aborting" | "apply-failed" | null;

export interface ClusterPort {
  /** Optional: after a controller restart, resolves once the hosts' agents are back (bounded). */
  awaitReconnect?(signal: AbortSignal): Promise<void>;
  /** Hosts, alarms and patches now. */
  snapshot(signal: AbortSignal): Promise<ClusterSnapshot>;
  /** Swacts away from `host` (the active controller); resolves once the peer is active. */
  swact(host: string, signal: AbortSignal): Promise<void>;
  /** Locks `host`; resolves when it is locked (and disabled). Locking a locked host is a no-op. */
  lock(host: string, signal: AbortSignal): Promise<void>;
  /** Unlocks `host`; resolves when it is back unlocked-enabled-available after any reboot. No-op if unlocked. */
  unlock(host: string, signal: AbortSignal): Promise<void>;
  /** Reboots a locked host; resolves when it is back online. */
  reboot(host: string, signal: AbortSignal): Promise<void>;
  /** Installs the applied patches on `host` (host-install-async); resolves with the outcome. */
  install(host: string, signal: AbortSignal): Promise<{ success: boolean; reason: string }>;
  /** Stops the given instances on `host`; resolves when they are stopped. */
  stopInstances(host: string, instanceUuids: readonly string[], signal: AbortSignal): Promise<void>;
  /** Starts the given instances on `host`; resolves when they run. */
  startInstances(host: string, instanceUuids: readonly string[], signal: AbortSignal): Promise<void>;
  /** Migrates every instance off `host`; resolves when the host is empty. */
  migrateInstances(host: string, signal: AbortSignal): Promise<void>;
  /** Disables / enables the compute services of `host` (OpenStack only; otherwise a no-op). */
  disableHostServices(host: string, signal: AbortSignal): Promise<void>;
  enableHostServices(host: string, signal: AbortSignal): Promise<void>;
  /** ROLLOUT (issue 20): removes `patchIds` from the repository (a rollback); patches already removed are skipped. */
  removePatches?(patchIds: readonly string[], signal: AbortSignal): Promise<void>;
  /** Raises the given orchestration alarm, clearing the others (null: clear all). Optional. */
  setOrchestrationAlarm?(alarm: OrchestrationAlarm): Promise<void>;
  /** Waits `ms` real milliseconds (already scaled by the engine); rejects with AbortError on abort. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Controller personality with the worker subfunction. */
export function isAio(h: Pick<HostSnapshot, "personality" | "subfunctions">): boolean {
  return h.personality === "controller" && h.subfunctions.includes("worker");
}

export function hasWorker(h: Pick<HostSnapshot, "personality" | "subfunctions">): boolean {
  return h.personality === "worker" || h.subfunctions.includes("worker");
}
