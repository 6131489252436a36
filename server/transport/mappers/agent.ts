import type { AgentHello, AgentReport, ConnectResponse, InstallResult } from "../../../clients/sdk/src/gen/swpatch/v1/agent_service.js";
import { AgentState, InstallPhase as ProtoPhase, type InstallProgress as ProtoProgress } from "../../../clients/sdk/src/gen/swpatch/v1/types.js";
import type {
  AgentCommand,
  AgentHelloInput,
  AgentReportInput,
  AgentStateName,
  InstallPhase,
  InstallProgress,
  InstallResultInput,
} from "../../domain/hosts/agent-types.js";

const AGENT_STATE: Record<number, AgentStateName> = {
  [AgentState.AGENT_STATE_IDLE]: "idle",
  [AgentState.AGENT_STATE_INSTALLING]: "installing",
  [AgentState.AGENT_STATE_INSTALL_FAILED]: "install-failed",
  [AgentState.AGENT_STATE_INSTALL_REJECTED]: "install-rejected",
};

const PHASE_TO_PROTO: Record<InstallPhase, ProtoPhase> = {
  unspecified: ProtoPhase.INSTALL_PHASE_UNSPECIFIED,
  queued: ProtoPhase.INSTALL_PHASE_QUEUED,
  downloading: ProtoPhase.INSTALL_PHASE_DOWNLOADING,
  installing: ProtoPhase.INSTALL_PHASE_INSTALLING,
  "running-scripts": ProtoPhase.INSTALL_PHASE_RUNNING_SCRIPTS,
  done: ProtoPhase.INSTALL_PHASE_DONE,
  failed: ProtoPhase.INSTALL_PHASE_FAILED,
  rejected: ProtoPhase.INSTALL_PHASE_REJECTED,
};
const PHASE_FROM_PROTO = new Map<number, InstallPhase>(Object.entries(PHASE_TO_PROTO).map(([k, v]) => [v, k as InstallPhase]));

/** The agent's state enum as the domain's name ("unknown" for values the domain does not know). */
export function agentStateName(s: AgentState): AgentStateName {
  return AGENT_STATE[s] ?? "unknown";
}

/** A decoded hello as the domain's input. */
export function fromProtoHello(h: AgentHello): AgentHelloInput {
  return {
    hostname: h.hostname,
    personality: h.personality,
    subfunctions: [...h.subfunctions],
    release: h.release,
    mgmtIp: h.mgmtIp,
    packages: h.packages.map((p) => ({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch })),
    requiresReboot: h.requiresReboot,
    state: agentStateName(h.state),
    installReason: h.installReason,
    instances: h.instances.map((i) => ({ uuid: i.uuid, name: i.name, state: i.state })),
    interruptedOperationId: h.interruptedOperationId,
    provision: h.provision,
    installRequest: h.installRequest,
  };
}

/** A decoded report as the domain's input. */
export function fromProtoReport(r: AgentReport): AgentReportInput {
  return {
    packages: r.packages.map((p) => ({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch })),
    requiresReboot: r.requiresReboot,
    state: agentStateName(r.state),
    installReason: r.installReason,
    instances: r.instances.map((i) => ({ uuid: i.uuid, name: i.name, state: i.state })),
    ...(r.health
      ? {
          health: {
            configured: r.health.configured,
            healthy: r.health.healthy,
            detail: r.health.detail,
            ...(r.health.checkedAt ? { checkedAt: r.health.checkedAt } : {}),
          },
        }
      : {}),
  };
}

/** A decoded install result as the domain's input. */
export function fromProtoInstallResult(r: InstallResult): InstallResultInput {
  return { operationId: r.operationId, success: r.success, rejected: r.rejected, reason: r.reason };
}

/** An agent's progress message as the domain type (an unknown phase number is "unspecified"). */
export function fromProtoProgress(p: ProtoProgress): InstallProgress {
  return {
    operationId: p.operationId,
    hostname: p.hostname,
    phase: PHASE_FROM_PROTO.get(p.phase) ?? "unspecified",
    current: p.current,
    total: p.total,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    item: p.item,
    message: p.message,
    terminal: p.terminal,
    time: p.time ?? new Date(0),
  };
}

/** The domain's progress message as the proto InstallProgress. */
export function toProtoProgress(p: InstallProgress): ProtoProgress {
  return {
    operationId: p.operationId,
    hostname: p.hostname,
    phase: PHASE_TO_PROTO[p.phase] ?? ProtoPhase.INSTALL_PHASE_UNSPECIFIED,
    current: p.current,
    total: p.total,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    item: p.item,
    message: p.message,
    terminal: p.terminal,
    time: p.time,
  };
}

/** A domain command to an agent as the ConnectResponse that carries it. */
export function toConnectResponse(c: AgentCommand): ConnectResponse {
  switch (c.kind) {
    case "helloAck":
      return { message: { $case: "helloAck", value: { controllerRelease: c.controllerRelease, locked: c.locked } } };
    case "install":
      return {
        message: {
          $case: "install",
          value: {
            operationId: c.operationId,
            force: c.force,
            locked: c.locked,
            rebootRequired: c.rebootRequired,
            erase: c.erase,
            desired: c.desired,
            securityCounter: c.securityCounter ?? 0,
            patchIds: c.patchIds ?? [],
          },
        },
      };
    case "reboot":
      return { message: { $case: "reboot", value: { requestId: c.requestId } } };
    case "lockState":
      return { message: { $case: "lockState", value: { locked: c.locked } } };
    case "reportRequest":
      return { message: { $case: "reportRequest", value: { patchOpCounter: c.patchOpCounter } } };
    case "instanceAction":
      return { message: { $case: "instanceAction", value: { requestId: c.requestId, action: c.action, instanceUuids: c.instanceUuids } } };
  }
}
