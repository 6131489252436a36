import type { AgentStateName, InstallProgress, InstalledPackage, Instance } from "./agent-types.js";

export type AdminStateName = "locked" | "unlocked";
export type AvailabilityName = "available" | "offline" | "rebooting";

/** A host as the controller keeps it (the stored part; availability is live only). */
export interface HostRecord {
  hostname: string;
  ip: string;
  personality: string;
  subfunctions: string[];
  release: string;
  adminState: AdminStateName;
  agentState: AgentStateName;
  installReason: string;
  requiresReboot: boolean;
  patchFailed: boolean;
  installed: InstalledPackage[];
  instances: Instance[];
  firstSeen: Date;
  lastSeen: Date;
  availability: AvailabilityName;
}

/** How an install operation stands: running, or how it ended. */
export type OperationStateName = "running" | "done" | "failed" | "rejected";

/** A stored install operation. */
export interface OperationRecord {
  id: string;
  hostname: string;
  state: OperationStateName;
  force: boolean;
  /** The event sequence number before its first event (WatchOperation replays from there). */
  startSeq: number;
  /** Its latest stored progress (the first and the terminal message; events carry the rest). */
  last: InstallProgress | undefined;
}
