import { AgentState, PatchCurrent, PatchState, RepoState } from "./gen/swpatch/v1/types.js";

/** The reference's patch state text: Available, Partial-Apply, Applied, Partial-Remove, Committed, n/a. */
export function patchStateLabel(state: PatchState): string {
  switch (state) {
    case PatchState.PATCH_STATE_AVAILABLE:
      return "Available";
    case PatchState.PATCH_STATE_PARTIAL_APPLY:
      return "Partial-Apply";
    case PatchState.PATCH_STATE_APPLIED:
      return "Applied";
    case PatchState.PATCH_STATE_PARTIAL_REMOVE:
      return "Partial-Remove";
    case PatchState.PATCH_STATE_COMMITTED:
      return "Committed";
    default:
      return "n/a";
  }
}

/** The reference's repository state text: Available, Applied, Committed (n/a if unset). */
export function repoStateLabel(state: RepoState): string {
  switch (state) {
    case RepoState.REPO_STATE_AVAILABLE:
      return "Available";
    case RepoState.REPO_STATE_APPLIED:
      return "Applied";
    case RepoState.REPO_STATE_COMMITTED:
      return "Committed";
    default:
      return "n/a";
  }
}

/** query-hosts "Patch Current": Yes, No, Pending, Failed. */
export function patchCurrentLabel(current: PatchCurrent): string {
  switch (current) {
    case PatchCurrent.PATCH_CURRENT_YES:
      return "Yes";
    case PatchCurrent.PATCH_CURRENT_PENDING:
      return "Pending";
    case PatchCurrent.PATCH_CURRENT_FAILED:
      return "Failed";
    default:
      return "No";
  }
}

/** The agent state text: idle, installing, install-failed, install-rejected, unknown. */
export function agentStateLabel(state: AgentState): string {
  switch (state) {
    case AgentState.AGENT_STATE_IDLE:
      return "idle";
    case AgentState.AGENT_STATE_INSTALLING:
      return "installing";
    case AgentState.AGENT_STATE_INSTALL_FAILED:
      return "install-failed";
    case AgentState.AGENT_STATE_INSTALL_REJECTED:
      return "install-rejected";
    default:
      return "unknown";
  }
}
