import { AdminState, AgentState, Availability, OperationalState, PatchCurrent, type Alarm, type Host } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import type { AlarmRecord, HostStatus } from "../../domain/hosts/host-manager.js";

const AGENT: Record<string, AgentState> = {
  unknown: AgentState.AGENT_STATE_UNKNOWN,
  idle: AgentState.AGENT_STATE_IDLE,
  installing: AgentState.AGENT_STATE_INSTALLING,
  "install-failed": AgentState.AGENT_STATE_INSTALL_FAILED,
  "install-rejected": AgentState.AGENT_STATE_INSTALL_REJECTED,
};
const CURRENT: Record<HostStatus["patchCurrent"], PatchCurrent> = {
  Yes: PatchCurrent.PATCH_CURRENT_YES,
  No: PatchCurrent.PATCH_CURRENT_NO,
  Pending: PatchCurrent.PATCH_CURRENT_PENDING,
  Failed: PatchCurrent.PATCH_CURRENT_FAILED,
};
const AVAIL: Record<string, Availability> = {
  available: Availability.AVAILABILITY_AVAILABLE,
  offline: Availability.AVAILABILITY_OFFLINE,
  rebooting: Availability.AVAILABILITY_REBOOTING,
};

export function toProtoHost(h: HostStatus): Host {
  return {
    hostname: h.hostname,
    ip: h.ip,
    personality: h.personality,
    subfunctions: h.subfunctions,
    adminState: h.adminState === "locked" ? AdminState.ADMIN_STATE_LOCKED : AdminState.ADMIN_STATE_UNLOCKED,
    operationalState: h.operational === "enabled" ? OperationalState.OPERATIONAL_STATE_ENABLED : OperationalState.OPERATIONAL_STATE_DISABLED,
    availability: AVAIL[h.availability] ?? Availability.AVAILABILITY_OFFLINE,
    patchCurrent: CURRENT[h.patchCurrent],
    requiresReboot: h.requiresRebootShown,
    release: h.release,
    agentState: AGENT[h.agentState] ?? AgentState.AGENT_STATE_UNKNOWN,
    installReason: h.installReason,
    connected: h.connected,
    lastSeen: h.lastSeen,
    activeController: h.activeController,
    pendingChanges: h.pendingChanges,
    patchFailed: h.patchFailed,
    interimState: h.interim,
    instances: h.instances,
    allowInsvcPatching: h.allowInsvcPatching,
  };
}

export function toProtoAlarm(a: AlarmRecord): Alarm {
  return {
    uuid: a.uuid,
    alarmId: a.alarmId,
    entityInstanceId: a.entityInstanceId,
    severity: a.severity,
    reasonText: a.reasonText,
    time: a.time,
    mgmtAffecting: a.mgmtAffecting,
    proposedRepairAction: a.proposedRepairAction,
  };
}
