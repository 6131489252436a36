/**
 * Domain-owned types of the agent conversation: what agents tell the controller (hello, report,
 * progress, results) and the commands the controller sends them. The transport maps them to and
 * from protobuf (transport/mappers/agent.ts); the database stores versioned records of them.
 */

/** What an agent says about its own install state. */
export type AgentStateName = "unknown" | "idle" | "installing" | "install-failed" | "install-rejected";

/** The phase of a host install, in order (the last three are terminal). */
export type InstallPhase = "unspecified" | "queued" | "downloading" | "installing" | "running-scripts" | "done" | "failed" | "rejected";

/** One package installed in a host root. */
export interface InstalledPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

/** A VM instance running on a host, as its agent reports it. */
export interface Instance {
  uuid: string;
  name: string;
  /** "running", "stopped", "migrating". */
  state: string;
}

/** One progress message of a host install (host-install, WatchOperation). */
export interface InstallProgress {
  operationId: string;
  hostname: string;
  phase: InstallPhase;
  current: number;
  total: number;
  bytesDone: number;
  bytesTotal: number;
  item: string;
  message: string;
  terminal: boolean;
  time: Date;
}

/** An agent's first message on its stream. */
export interface AgentHelloInput {
  hostname: string;
  personality: string;
  subfunctions: string[];
  release: string;
  mgmtIp: string;
  packages: InstalledPackage[];
  requiresReboot: boolean;
  state: AgentStateName;
  installReason: string;
  instances: Instance[];
  interruptedOperationId: string;
  provision: boolean;
  installRequest: boolean;
}

/** A fresh inventory report of an agent. */
export interface AgentReportInput {
  packages: InstalledPackage[];
  requiresReboot: boolean;
  state: AgentStateName;
  installReason: string;
  instances: Instance[];
  /** ROLLOUT (issue 20): the agent's health check (absent from agents that do not send one). */
  health?: AgentHealthInput;
}

/** ROLLOUT (issue 20): an agent's health check result (`sw-patch-agent --health-check`). */
export interface AgentHealthInput {
  configured: boolean;
  healthy: boolean;
  detail: string;
  checkedAt?: Date;
}

/** How an install ended, as the agent says. */
export interface InstallResultInput {
  operationId: string;
  success: boolean;
  rejected: boolean;
  reason: string;
}

/** The outcome of a reboot or instance action request. */
export interface ActionResultInput {
  requestId: string;
  success: boolean;
  reason: string;
}

/** A package the host must have (an install command's desired set). */
export interface DesiredPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
  fileName: string;
  sha256: string;
  sizeBytes: number;
}

/** Instance actions an agent performs. */
export type InstanceActionName = "stop" | "start" | "migrate-out" | "migrate-in";

/** A command to an agent. */
export type AgentCommand =
  | { kind: "helloAck"; controllerRelease: string; locked: boolean }
  | {
      kind: "install";
      operationId: string;
      force: boolean;
      locked: boolean;
      rebootRequired: boolean;
      erase: string[];
      desired: DesiredPackage[];
      /** FLOOR (issue 21): the set's security counter and the patches it comes from. */
      securityCounter?: number;
      patchIds?: string[];
    }
  | { kind: "reboot"; requestId: string }
  | { kind: "lockState"; locked: boolean }
  | { kind: "reportRequest"; patchOpCounter: number }
  | { kind: "instanceAction"; requestId: string; action: InstanceActionName; instanceUuids: string[] };

/** A live agent stream: the transport gives the domain a way to send commands and to cut it. */
export interface AgentLink {
  send(cmd: AgentCommand): void;
  close(): void;
}

/** A progress message with no counters (queued, terminal messages). */
export function progressMessage(operationId: string, hostname: string, phase: InstallPhase, message: string, terminal = false): InstallProgress {
  return { operationId, hostname, phase, current: 0, total: 0, bytesDone: 0, bytesTotal: 0, item: "", message, terminal, time: new Date() };
}
