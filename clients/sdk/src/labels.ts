import { AgentState, InstallPhase, PatchCurrent, PatchState, RepoState, type InstallProgress } from "./gen/swpatch/v1/types.js";

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

/**
 * How far an install is, 0–100, over all its phases (the same bands as the web console):
 * downloading 0–40 (by bytes when known), installing 40–90, running scripts 90–99, done 100.
 * Queued and unknown phases are 0; a failed or rejected install reports 0 (show its outcome instead).
 */
export function installPercent(p: Pick<InstallProgress, "phase" | "current" | "total" | "bytesDone" | "bytesTotal">): number {
  const frac = (a: number, b: number) => (b > 0 ? Math.max(0, Math.min(1, a / b)) : 0);
  let pct = 0;
  if (p.phase === InstallPhase.INSTALL_PHASE_DOWNLOADING) pct = 40 * (p.bytesTotal > 0 ? frac(p.bytesDone, p.bytesTotal) : frac(p.current, p.total));
  else if (p.phase === InstallPhase.INSTALL_PHASE_INSTALLING) pct = 40 + 50 * frac(p.current, p.total);
  else if (p.phase === InstallPhase.INSTALL_PHASE_RUNNING_SCRIPTS) pct = 90 + 9 * frac(p.current, p.total);
  else if (p.phase === InstallPhase.INSTALL_PHASE_DONE) pct = 100;
  return Math.floor(pct);
}
