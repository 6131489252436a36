/**
 * The agent's persistent state: `<root>/var/lib/sw-patch-agent/state.json`, written atomically,
 * never through a symlink out of the root (root-fs.ts).
 */
import { hostPaths } from "./host-paths.js";
import { UnsafeRootPathError, readFileInRoot, writeFileInRootAtomic } from "./root-fs.js";

/** The reference's agent states. */
export type AgentStateName = "idle" | "installing" | "install-failed" | "install-rejected";

export interface PersistedAgentState {
  state: AgentStateName;
  /** Why the last install failed or was rejected ("" otherwise). */
  installReason: string;
  requiresReboot: boolean;
  /** Operation id of the install that was running when the agent last stopped ("" if none). */
  interruptedOperationId: string;
  /**
   * A real reboot the agent started (reboot mode "system"): the controller's request id and the
   * kernel's boot id before it. At the next start a different boot id means the host rebooted.
   */
  pendingReboot?: { requestId: string; bootId: string };
  /**
   * FLOOR (issue 21): the highest security counter of a package set this host installed; a set
   * below it is refused (server/agent/security-floor.ts). Absent = 0.
   */
  securityFloor?: number;
}

export const INITIAL_AGENT_STATE: Readonly<PersistedAgentState> = Object.freeze({
  state: "idle",
  installReason: "",
  requiresReboot: false,
  interruptedOperationId: "",
});

const STATES: readonly AgentStateName[] = ["idle", "installing", "install-failed", "install-rejected"];

/**
 * Read state.json; a missing or unreadable file gives the initial state. A symlink in its place is
 * not followed: it also gives the initial state (`onWarning` hears it) and the next save replaces it.
 */
export async function loadAgentState(root: string, onWarning?: (message: string) => void): Promise<PersistedAgentState> {
  try {
    const raw = JSON.parse(await readFileInRoot(root, hostPaths(root).stateFile)) as Partial<PersistedAgentState>;
    return {
      state: STATES.includes(raw.state as AgentStateName) ? (raw.state as AgentStateName) : "idle",
      installReason: typeof raw.installReason === "string" ? raw.installReason : "",
      requiresReboot: raw.requiresReboot === true,
      interruptedOperationId: typeof raw.interruptedOperationId === "string" ? raw.interruptedOperationId : "",
      ...(isPendingReboot(raw.pendingReboot) ? { pendingReboot: { requestId: raw.pendingReboot.requestId, bootId: raw.pendingReboot.bootId } } : {}),
      ...(Number.isSafeInteger(raw.securityFloor) && raw.securityFloor! > 0 ? { securityFloor: raw.securityFloor! } : {}),
    };
  } catch (e) {
    if (e instanceof UnsafeRootPathError) onWarning?.(`${e.message}; starting from the initial state`);
    return { ...INITIAL_AGENT_STATE };
  }
}

function isPendingReboot(v: unknown): v is { requestId: string; bootId: string } {
  const o = v as { requestId?: unknown; bootId?: unknown } | undefined;
  return typeof o === "object" && o !== null && typeof o.requestId === "string" && typeof o.bootId === "string";
}

/** Write state.json atomically (temp, fsync, rename, fsync dir). */
export async function saveAgentState(root: string, s: PersistedAgentState): Promise<void> {
  await writeFileInRootAtomic(root, hostPaths(root).stateFile, JSON.stringify(s, null, 2) + "\n");
}

/**
 * The state an agent starts in after a restart: an install that was running (`interrupted`, found by the installer's
 * journal, or the saved state) is install-failed with its reason; an install-rejected state is not kept (idle).
 */
export function stateAtStart(st: PersistedAgentState, interrupted: { reason: string; operationId: string } | null | undefined): PersistedAgentState {
  if (interrupted || st.state === "installing") {
    return {
      ...st,
      state: "install-failed",
      installReason: interrupted?.reason ?? "agent restarted during install",
      interruptedOperationId: interrupted?.operationId ?? st.interruptedOperationId,
    };
  }
  return st.state === "install-rejected" ? { ...st, state: "idle", installReason: "" } : st;
}
