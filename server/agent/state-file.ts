/** The agent's persistent state: `<root>/var/lib/sw-patch-agent/state.json`, written atomically. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/fs-atomic.js";
import { hostPaths } from "./host-paths.js";

/** The reference's agent states. */
export type AgentStateName = "idle" | "installing" | "install-failed" | "install-rejected";

export interface PersistedAgentState {
  state: AgentStateName;
  /** Why the last install failed or was rejected ("" otherwise). */
  installReason: string;
  requiresReboot: boolean;
  /** Operation id of the install that was running when the agent last stopped ("" if none). */
  interruptedOperationId: string;
}

export const INITIAL_AGENT_STATE: Readonly<PersistedAgentState> = Object.freeze({
  state: "idle",
  installReason: "",
  requiresReboot: false,
  interruptedOperationId: "",
});

const STATES: readonly AgentStateName[] = ["idle", "installing", "install-failed", "install-rejected"];

/** Read state.json; a missing or unreadable file gives the initial state. */
export async function loadAgentState(root: string): Promise<PersistedAgentState> {
  try {
    const raw = JSON.parse(await fsp.readFile(hostPaths(root).stateFile, "utf8")) as Partial<PersistedAgentState>;
    return {
      state: STATES.includes(raw.state as AgentStateName) ? (raw.state as AgentStateName) : "idle",
      installReason: typeof raw.installReason === "string" ? raw.installReason : "",
      requiresReboot: raw.requiresReboot === true,
      interruptedOperationId: typeof raw.interruptedOperationId === "string" ? raw.interruptedOperationId : "",
    };
  } catch {
    return { ...INITIAL_AGENT_STATE };
  }
}

/** Write state.json atomically (temp, fsync, rename, fsync dir). */
export async function saveAgentState(root: string, s: PersistedAgentState): Promise<void> {
  const file = hostPaths(root).stateFile;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(s, null, 2) + "\n");
}
